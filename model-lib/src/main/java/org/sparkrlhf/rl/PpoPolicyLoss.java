package org.sparkrlhf.rl;

import org.sparkrlhf.loss.Softmax;
import org.sparkrlhf.tensor.Tensor;

/**
 * PPO's clipped surrogate with an entropy bonus, per token:
 * {@code L = -min(r A, clip(r, 1-eps, 1+eps) A) - c_H H}, r = exp(logp - logp_old), averaged over
 * the masked tokens. The gradient follows the branch that the min selects; where the two branches
 * tie (r inside the clip range, e.g. r = 1 in the first epoch) it is the unclipped gradient once,
 * never twice.
 */
public final class PpoPolicyLoss {
    private PpoPolicyLoss() {}

    /** Loss and the statistics PPO reports (all averaged over masked tokens). */
    public record Result(double loss, double policyLoss, double entropy, double approxKl,
                         double clipFraction, double ratioMean, double ratioMax) {}

    /**
     * @param logits      [rows, v] current policy logits; row r predicts actions[r]
     * @param actions     the sampled token per row
     * @param oldLogProbs log-probability of each action under the policy that sampled it
     * @param advantages  advantage per row
     * @param mask        1 for response tokens, 0 elsewhere
     * @param dLogits     if not null, receives d loss / d logits (overwritten)
     */
    public static Result compute(Tensor logits, int v, int[] actions, double[] oldLogProbs, double[] advantages,
                                 double[] mask, double clip, double entropyCoef, Tensor dLogits) {
        double count = 0;
        for (double m : mask) count += m;
        if (!(count > 0)) throw new IllegalArgumentException("PPO mask selects no tokens");
        return compute(logits, v, actions, oldLogProbs, advantages, mask, clip, entropyCoef, count, dLogits);
    }

    /** The same with every average divided by {@code normalizer} instead (1: sums, for accumulation across machines). */
    public static Result compute(Tensor logits, int v, int[] actions, double[] oldLogProbs, double[] advantages,
                                 double[] mask, double clip, double entropyCoef, double normalizer, Tensor dLogits) {
        return compute(logits, v, actions, oldLogProbs, advantages, mask, clip, entropyCoef, normalizer, null, 0, dLogits);
    }

    /**
     * With GRPO's KL term in the loss: {@code klCoef} times the k3 estimate of KL(pi || ref) per token,
     * exp(q - p) - (q - p) - 1 with p = log pi(a) and q = log ref(a) (reported in {@link Result#loss()}
     * only; {@code refLogProbs} null for none).
     */
    public static Result compute(Tensor logits, int v, int[] actions, double[] oldLogProbs, double[] advantages,
                                 double[] mask, double clip, double entropyCoef, double normalizer,
                                 double[] refLogProbs, double klCoef, Tensor dLogits) {
        double klTerm = 0;
        double count = normalizer;
        double policy = 0, entropy = 0, approxKl = 0, clipped = 0, ratioSum = 0, ratioMax = Double.NEGATIVE_INFINITY;
        for (int r = 0; r < actions.length; r++) {
            int off = r * v;
            if (mask[r] == 0) {
                if (dLogits != null) for (int j = 0; j < v; j++) dLogits.set(off + j, 0.0);
                continue;
            }
            double w = mask[r] / count;
            double lse = Softmax.logSumExp(logits, off, v);
            double logp = logits.get(off + actions[r]) - lse;
            double logRatio = logp - oldLogProbs[r];
            double ratio = Math.exp(logRatio);
            double a = advantages[r];
            double unclipped = ratio * a;
            double ratioClipped = Math.min(Math.max(ratio, 1 - clip), 1 + clip);
            boolean takesClipped = ratioClipped * a < unclipped; // min picks the clipped branch strictly
            policy -= w * Math.min(unclipped, ratioClipped * a);
            // d(-term)/d logp: -A r on the unclipped branch, 0 on the clipped branch (constant in r)
            double dLogp = takesClipped ? 0.0 : -w * a * ratio;
            if (refLogProbs != null && klCoef != 0) { // + c k3: d/dp [exp(q - p) - (q - p) - 1] = 1 - exp(q - p)
                double d = refLogProbs[r] - logp;
                klTerm += w * klCoef * (Math.exp(d) - d - 1);
                dLogp += w * klCoef * (1 - Math.exp(d));
            }

            double h = 0;
            for (int j = 0; j < v; j++) {
                double lp = logits.get(off + j) - lse;
                h -= logits.exp(lp) * lp;
            }
            entropy += w * h;
            approxKl += w * ((ratio - 1) - logRatio); // k3 estimator of KL(old || new)
            if (Math.abs(ratio - 1) > clip) clipped += w;
            ratioSum += w * ratio;
            ratioMax = Math.max(ratioMax, ratio);

            if (dLogits != null) {
                // d logp/dz_j = [j = a] - p_j ; d H/dz_j = -p_j (log p_j + H); loss has -c_H H
                for (int j = 0; j < v; j++) {
                    double lp = logits.get(off + j) - lse, pj = logits.exp(lp);
                    dLogits.set(off + j, -dLogp * pj + entropyCoef * w * pj * (lp + h));
                }
                dLogits.add(off + actions[r], dLogp);
            }
        }
        double loss = policy - entropyCoef * entropy + klTerm;
        return new Result(loss, policy, entropy, approxKl, clipped, ratioSum, ratioMax);
    }
}
