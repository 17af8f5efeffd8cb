package org.sparkrlhf.preference;

import java.util.List;
import java.util.SplittableRandom;

/**
 * A simulated panel of annotators: each has a utility for a text; a ranking is a noisy
 * (Plackett-Luce) sample of it, and the panel's mean utility is the gold judgement no model sees.
 */
public interface Panel extends java.io.Serializable {
    int size();

    /** Annotator j's utility of a text (higher is better). */
    double utility(int annotator, String text);

    /** Annotator j's ranking of responses, best first (indices), with the panel's noise. */
    int[] rank(int annotator, List<String> responses, SplittableRandom rng);

    /** Annotator j's verdict on each response, true for safe, where this panel judges safety; null where it does not. */
    default boolean[] safetyVerdicts(int annotator, List<String> responses, SplittableRandom rng) {
        return null;
    }

    /** The gold judgement: the panel's mean utility. */
    default double gold(String text) {
        double s = 0;
        for (int j = 0; j < size(); j++) s += utility(j, text);
        return s / size();
    }

    /**
     * Share of response pairs (over the given groups) on which two different annotators' noiseless
     * preferences agree, averaged over all annotator pairs: how much the panel itself agrees.
     */
    default double agreement(List<List<String>> groups) {
        double agree = 0, total = 0;
        for (List<String> g : groups)
            for (int a = 0; a < g.size(); a++)
                for (int b = a + 1; b < g.size(); b++)
                    for (int i = 0; i < size(); i++)
                        for (int j = i + 1; j < size(); j++) {
                            double di = utility(i, g.get(a)) - utility(i, g.get(b)), dj = utility(j, g.get(a)) - utility(j, g.get(b));
                            if (di == 0 && dj == 0) continue;
                            total++;
                            if (Math.signum(di) == Math.signum(dj)) agree++;
                        }
        return total == 0 ? 1 : agree / total;
    }
}
