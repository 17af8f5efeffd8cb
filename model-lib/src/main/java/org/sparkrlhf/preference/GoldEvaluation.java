package org.sparkrlhf.preference;

import java.util.List;
import org.sparkrlhf.rl.Moments;

/**
 * Measures against the gold reward (the panel's mean judgement, which the policy never sees): the
 * best-of-n baseline, the noise ceiling a reward model is compared with, and the standard errors of
 * measures taken on several samples per held-out prompt.
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

    /**
     * The standard error of a share (sum of hits over sum of counts) measured on several samples per
     * prompt. Samples of one prompt are not independent (a policy that refuses a prompt tends to
     * refuse it in every sample), so the prompts are the units: the cluster-robust (ratio estimator)
     * variance {@code k / (k - 1) * sum_i (hits_i - p * counts_i)^2 / (sum_i counts_i)^2} over the k
     * prompts with samples. Where every sample is its own prompt this is the binomial error, times
     * sqrt(k / (k - 1)). NaN with fewer than two prompts.
     */
    public static double shareStandardError(long[] hits, long[] counts) {
        if (hits.length != counts.length) throw new IllegalArgumentException("need one hit count per prompt, got " + hits.length + " for " + counts.length);
        long h = 0, n = 0, k = 0;
        for (int i = 0; i < counts.length; i++) {
            if (hits[i] < 0 || hits[i] > counts[i]) throw new IllegalArgumentException("prompt " + i + " has " + hits[i] + " hits in " + counts[i] + " samples");
            h += hits[i];
            n += counts[i];
            if (counts[i] > 0) k++;
        }
        if (k < 2) return Double.NaN;
        double p = (double) h / n, sum = 0;
        for (int i = 0; i < counts.length; i++) {
            double r = hits[i] - p * counts[i];
            sum += r * r;
        }
        return Math.sqrt(k / (k - 1.0) * sum) / n;
    }

    /**
     * The standard error of the difference of two means taken over the same prompts (a policy's gold
     * against the SFT model's), from the per-prompt means: the sample standard deviation of the
     * per-prompt differences over the square root of the number of prompts. Pairing by prompt removes
     * what the prompts themselves contribute (some are easy for every policy). NaN with fewer than two prompts.
     */
    public static double pairedStandardError(double[] meansA, double[] meansB) {
        if (meansA.length != meansB.length) throw new IllegalArgumentException("need the same prompts, got " + meansA.length + " and " + meansB.length + " means");
        int k = meansA.length;
        if (k < 2) return Double.NaN;
        double[] d = new double[k];
        for (int i = 0; i < k; i++) d[i] = meansA[i] - meansB[i];
        return Moments.of(d).sampleStd() / Math.sqrt(k);
    }
}
