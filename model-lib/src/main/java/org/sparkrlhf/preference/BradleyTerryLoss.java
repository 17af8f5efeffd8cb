package org.sparkrlhf.preference;

import org.sparkrlhf.tensor.Tensor;

/**
 * Bradley-Terry pairwise loss for reward models: {@code -log sigmoid(r_chosen - r_rejected - margin)},
 * averaged over pairs. A ranking of K responses contributes all its K(K-1)/2 pairs.
 */
public final class BradleyTerryLoss {
    private BradleyTerryLoss() {}

    /** Loss and accuracy (fraction of pairs with r_chosen > r_rejected). */
    public record Result(double loss, double accuracy) {}

    /**
     * @param rewards  one score per sequence
     * @param chosen   index into rewards of each pair's preferred response
     * @param rejected index of each pair's other response
     * @param margins  per-pair margin, or null for none
     * @param dRewards if not null, receives d loss / d rewards (overwritten)
     */
    public static Result compute(Tensor rewards, int[] chosen, int[] rejected, double[] margins, Tensor dRewards) {
        if (chosen.length != rejected.length || chosen.length == 0)
            throw new IllegalArgumentException("need the same positive number of chosen and rejected indices, got "
                    + chosen.length + " and " + rejected.length);
        if (dRewards != null) dRewards.zero();
        double loss = 0, correct = 0, n = chosen.length;
        for (int i = 0; i < chosen.length; i++) {
            double diff = rewards.get(chosen[i]) - rewards.get(rejected[i]);
            double z = diff - (margins == null ? 0 : margins[i]);
            loss += softplus(-z) / n; // -log sigmoid(z)
            if (diff > 0) correct++;
            if (dRewards != null) {
                double g = -sigmoid(-z) / n;
                dRewards.add(chosen[i], g);
                dRewards.add(rejected[i], -g);
            }
        }
        return new Result(loss, correct / n);
    }

    /** log(1 + e^x) without overflow; this package's logistic losses (DPO, the safety labels) share it and {@link #sigmoid}. */
    static double softplus(double x) {
        return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
    }

    static double sigmoid(double x) {
        return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    }
}
