package org.sparkrlhf.rl;

import java.io.Serializable;
import java.util.List;

/** Scores whole responses: a trained reward model, or a known function in tests and gold evaluation. */
@FunctionalInterface
public interface RewardFunction extends Serializable {
    double[] score(List<int[]> prompts, List<int[]> responses);

    /** The fraction of response tokens equal to {@code token}: a reward whose optimum is known. */
    static RewardFunction tokenFrequency(int token) {
        return (prompts, responses) -> {
            double[] s = new double[responses.size()];
            for (int i = 0; i < s.length; i++) {
                int[] r = responses.get(i);
                int hits = 0;
                for (int t : r) if (t == token) hits++;
                s[i] = r.length == 0 ? 0 : (double) hits / r.length;
            }
            return s;
        };
    }
}
