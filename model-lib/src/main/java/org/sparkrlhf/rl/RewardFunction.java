package org.sparkrlhf.rl;

import java.io.Serializable;
import java.util.List;

/** Scores whole responses: a trained reward model, or a known function in tests and gold evaluation. */
@FunctionalInterface
public interface RewardFunction extends Serializable {
    double[] score(List<int[]> prompts, List<int[]> responses);

    /** A reward model (a GPT with a reward head) scoring prompt + response. */
    static RewardFunction model(org.sparkrlhf.model.Gpt rewardModel, int microBatch) {
        return (prompts, responses) -> {
            java.util.List<int[]> seqs = new java.util.ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                int[] p = prompts.get(i), r = responses.get(i), s = java.util.Arrays.copyOf(p, p.length + r.length);
                System.arraycopy(r, 0, s, p.length, r.length);
                seqs.add(s);
            }
            return org.sparkrlhf.training.RewardObjective.score(rewardModel, seqs, microBatch);
        };
    }

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
