package org.sparkrlhf.preference;

import java.util.List;

/**
 * Measures against the gold reward (the panel's mean judgement, which the policy never sees): the
 * best-of-n baseline and the noise ceiling a reward model is compared with.
 */
public final class GoldEvaluation {
    private GoldEvaluation() {}

    /** KL(best-of-n || base policy) = log n - (n - 1) / n (Stiennon et al. 2020). */
    public static double bestOfNKl(int n) {
        if (n < 1) throw new IllegalArgumentException("n must be >= 1, got " + n);
        return Math.log(n) - (n - 1.0) / n;
    }

    /**
     * Mean gold reward of best-of-n: for each prompt, among its first n samples, the one the proxy
     * (reward model) scores highest; ties go to the earliest sample.
     */
    public static double bestOfNGold(List<double[]> proxyPerPrompt, List<double[]> goldPerPrompt, int n) {
        if (proxyPerPrompt.size() != goldPerPrompt.size() || proxyPerPrompt.isEmpty())
            throw new IllegalArgumentException("need the same, positive number of prompts for proxy and gold scores");
        double total = 0;
        for (int p = 0; p < proxyPerPrompt.size(); p++) {
            double[] proxy = proxyPerPrompt.get(p), gold = goldPerPrompt.get(p);
            if (proxy.length < n || gold.length < n) throw new IllegalArgumentException("prompt " + p + " has fewer than n = " + n + " samples");
            int best = 0;
            for (int i = 1; i < n; i++) if (proxy[i] > proxy[best]) best = i;
            total += gold[best];
        }
        return total / proxyPerPrompt.size();
    }

    /**
     * The noise ceiling: the share of labelled pairs (chosen, rejected gold scores) on which the
     * panel's own mean judgement agrees with the noisy label. A reward model cannot be expected to
     * beat it on the same labels.
     */
    public static double noiseCeiling(double[] goldChosen, double[] goldRejected) {
        if (goldChosen.length != goldRejected.length || goldChosen.length == 0)
            throw new IllegalArgumentException("need the same, positive number of chosen and rejected scores");
        double agree = 0;
        for (int i = 0; i < goldChosen.length; i++) {
            if (goldChosen[i] > goldRejected[i]) agree++;
            else if (goldChosen[i] == goldRejected[i]) agree += 0.5; // a tie is a coin flip
        }
        return agree / goldChosen.length;
    }
}
