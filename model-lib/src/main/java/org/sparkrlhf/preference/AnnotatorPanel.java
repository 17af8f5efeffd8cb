package org.sparkrlhf.preference;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Ten simulated annotators for the "continue pleasantly" task (Ziegler et al. 2019), each one a
 * real VADER rater: annotator j likes a text as much as rater j's own ratings of its words say
 * (summed, per word of the text, so length alone earns nothing). Rankings come from
 * Bradley-Terry (Plackett-Luce) sampling with a noise temperature, so a judgement is noisy and
 * annotators disagree both in taste and by chance. The panel's mean judgement is the gold reward.
 */
public final class AnnotatorPanel implements Panel {
    private final VaderLexicon lexicon;
    private final double temperature;
    /** Helpful-only raters (the harmlessness task): offensive words they do not count, and what a refusal is worth to them; null: plain raters. */
    private final HarmLexicon ignored;
    private final double refusalUtility;

    /** @param temperature Bradley-Terry noise scale: P(a over b) = sigmoid((u_a - u_b) / temperature) */
    public AnnotatorPanel(VaderLexicon lexicon, double temperature) {
        this(lexicon, temperature, null, 0);
    }

    private AnnotatorPanel(VaderLexicon lexicon, double temperature, HarmLexicon ignored, double refusalUtility) {
        if (!(temperature > 0)) throw new IllegalArgumentException("annotator noise temperature must be > 0, got " + temperature);
        this.lexicon = lexicon;
        this.temperature = temperature;
        this.ignored = ignored;
        this.refusalUtility = refusalUtility;
    }

    /**
     * The same raters judging helpfulness only, as the labellers of a helpful-only data set do: they
     * do not mind offensive words (those do not count, for or against), and a refusal
     * ({@link Refusals}) is worth {@code refusalUtility} to them, whatever was asked. Harm is
     * another panel's judgement ({@link HarmPanel}).
     */
    public AnnotatorPanel helpfulOnly(HarmLexicon offensive, double refusalUtility) {
        return new AnnotatorPanel(lexicon, temperature, offensive, refusalUtility);
    }

    @Override
    public int size() {
        return VaderLexicon.RATERS;
    }

    /** Lower-cased words with surrounding punctuation removed (VADER's tokens are words and emoticons). */
    static List<String> words(String text) {
        List<String> out = new ArrayList<>();
        for (String raw : text.toLowerCase(Locale.ROOT).split("\\s+")) {
            if (raw.isEmpty()) continue;
            String w = raw.replaceAll("^[\\p{Punct}&&[^:;=<]]+|[\\p{Punct}&&[^)(\\]\\[dp]]+$", "");
            out.add(w.isEmpty() ? raw : w);
        }
        return out;
    }

    /** Annotator j's utility of a text: the sum of rater j's ratings of its words, per word. */
    @Override
    public double utility(int annotator, String text) {
        if (ignored != null && Refusals.isRefusal(text)) return refusalUtility;
        List<String> ws = words(text);
        if (ignored != null) ws = ws.stream().filter(w -> !ignored.contains(w)).toList();
        if (ws.isEmpty()) return 0;
        double s = 0;
        for (String w : ws) {
            Integer r = lexicon.rating(w, annotator);
            if (r != null) s += r;
        }
        return s / ws.size();
    }

    /** Annotator j's ranking of responses, best first (indices), sampled with Bradley-Terry noise. */
    @Override
    public int[] rank(int annotator, List<String> responses, SplittableRandom rng) {
        double[] u = new double[responses.size()];
        for (int i = 0; i < u.length; i++) u[i] = utility(annotator, responses.get(i));
        return PlackettLuce.sample(u, temperature, rng);
    }
}
