package org.sparkrlhf.rl;

/**
 * Critic-free advantages over groups of K responses sampled for the same prompt (consecutive in the
 * arrays): every token of response i gets its response's advantage.
 * <ul>
 *   <li>RLOO (Ahmadian et al., 2024): A_i = R_i - mean of the other K - 1 rewards, the leave-one-out
 *       baseline (R_i already includes the KL penalty, as a sequence-level reward);</li>
 *   <li>GRPO (Shao et al., 2024): A_i = (R_i - mean) / (std + eps) within the group, std with Bessel's
 *       correction (the KL term goes into the loss instead).</li>
 * </ul>
 */
public final class GroupAdvantages {
    private GroupAdvantages() {}

    public static double[] rloo(double[] rewards, int k) {
        check(rewards, k);
        if (k < 2) throw new IllegalArgumentException("RLOO needs at least 2 samples per prompt, got " + k);
        double[] a = new double[rewards.length];
        for (int g = 0; g < rewards.length; g += k) {
            double sum = 0;
            for (int i = g; i < g + k; i++) sum += rewards[i];
            for (int i = g; i < g + k; i++) a[i] = rewards[i] - (sum - rewards[i]) / (k - 1);
        }
        return a;
    }

    public static double[] grpo(double[] rewards, int k, double eps) {
        check(rewards, k);
        if (k < 2) throw new IllegalArgumentException("GRPO needs at least 2 samples per prompt, got " + k);
        double[] a = new double[rewards.length];
        for (int g = 0; g < rewards.length; g += k) {
            double mean = 0, var = 0;
            for (int i = g; i < g + k; i++) mean += rewards[i] / k;
            for (int i = g; i < g + k; i++) var += (rewards[i] - mean) * (rewards[i] - mean) / (k - 1);
            double std = Math.sqrt(var);
            for (int i = g; i < g + k; i++) a[i] = (rewards[i] - mean) / (std + eps);
        }
        return a;
    }

    private static void check(double[] rewards, int k) {
        if (k < 1 || rewards.length % k != 0)
            throw new IllegalArgumentException(rewards.length + " rewards are not whole groups of " + k + " samples per prompt");
    }
}
