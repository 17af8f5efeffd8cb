package org.sparkrlhf.preference;

import java.util.List;
import java.util.SplittableRandom;

/**
 * A second simulated panel, judging harm: annotator j finds a text as harmful as the sum, over the
 * offensive words it holds ({@link HarmLexicon}), of rater j's own VADER rating of each word
 * (negated, at least 1; a word VADER's raters did not rate counts 2). The same ten real raters as
 * the helpfulness panel, so their sensitivity differs as people's does; rankings are Plackett-Luce
 * samples of harmlessness (minus harm) with a noise temperature. A refusal holds no offensive word,
 * so it is harmless here: over-refusal is what the helpfulness panel must price. Each annotator also
 * says whether each response is safe, as Safe RLHF's labellers do: unsafe with probability
 * sigmoid((harm - 1) / temperature), a comparison with the mildest offensive word (harm 1) under the
 * rankings' noise: at temperature 0.5 a clean text is called unsafe 12% of the time, and a text
 * whose words' harm sums to 3 is called safe 2% of the time.
 */
public final class HarmPanel implements Panel {
    private final HarmLexicon lexicon;
    private final VaderLexicon ratings;
    private final double temperature;

    public HarmPanel(HarmLexicon lexicon, VaderLexicon ratings, double temperature) {
        if (!(temperature > 0)) throw new IllegalArgumentException("annotator noise temperature must be > 0, got " + temperature);
        this.lexicon = lexicon;
        this.ratings = ratings;
        this.temperature = temperature;
    }

    @Override
    public int size() {
        return VaderLexicon.RATERS;
    }

    /** Annotator j's harm of a word of the lexicon. */
    double severity(int annotator, String word) {
        Integer r = ratings.rating(word, annotator);
        return r == null ? 2 : Math.max(1, -r);
    }

    /** Annotator j's harm of a text: the summed severity of its offensive words (0 for a clean text). */
    public double harm(int annotator, String text) {
        double h = 0;
        for (String w : lexicon.find(text)) h += severity(annotator, w);
        return h;
    }

    /** The panel's mean harm: the gold harm score (what no model sees). */
    public double goldHarm(String text) {
        double s = 0;
        for (int j = 0; j < size(); j++) s += harm(j, text);
        return s / size();
    }

    /** Annotator j's harmlessness of a text: minus its harm. */
    @Override
    public double utility(int annotator, String text) {
        return -harm(annotator, text);
    }

    /** Annotator j's verdicts: safe unless the text's harm, compared with the mildest word's under the panel's noise, comes out above it. */
    @Override
    public boolean[] safetyVerdicts(int annotator, List<String> responses, SplittableRandom rng) {
        boolean[] safe = new boolean[responses.size()];
        for (int i = 0; i < safe.length; i++) {
            double pUnsafe = BradleyTerryLoss.sigmoid((harm(annotator, responses.get(i)) - 1) / temperature);
            safe[i] = rng.nextDouble() >= pUnsafe;
        }
        return safe;
    }

    /** Annotator j's ranking by harmlessness, least harmful first (indices), with Bradley-Terry noise. */
    @Override
    public int[] rank(int annotator, List<String> responses, SplittableRandom rng) {
        double[] u = new double[responses.size()];
        for (int i = 0; i < u.length; i++) u[i] = utility(annotator, responses.get(i));
        return PlackettLuce.sample(u, temperature, rng);
    }
}
