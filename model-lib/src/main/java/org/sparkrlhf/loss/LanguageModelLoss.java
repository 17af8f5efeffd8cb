package org.sparkrlhf.loss;

import org.sparkrlhf.tensor.Tensor;

/**
 * Next-token cross-entropy restricted to a token mask: pre-training weighs every real token, SFT
 * only the response tokens. The loss is the weighted mean over rows, sum_r w_r (-log p_r(y_r)) / sum_r w_r.
 */
public final class LanguageModelLoss {
    private LanguageModelLoss() {}

    /**
     * @param logits  [rows, v]
     * @param targets target token per row
     * @param weights weight per row (0 ignores the row)
     * @param dLogits if not null, receives d loss / d logits (overwritten)
     * @return the mean loss in nats per weighted token
     */
    public static double crossEntropy(Tensor logits, int v, int[] targets, double[] weights, Tensor dLogits) {
        double total = 0;
        for (double w : weights) total += w;
        if (!(total > 0)) throw new IllegalArgumentException("cross-entropy mask selects no tokens: every weight is 0");
        double loss = 0;
        for (int r = 0; r < targets.length; r++) {
            int off = r * v;
            double w = weights[r] / total;
            if (w == 0) {
                if (dLogits != null) for (int j = 0; j < v; j++) dLogits.set(off + j, 0.0);
                continue;
            }
            double lse = Softmax.logSumExp(logits, off, v);
            loss -= w * (logits.get(off + targets[r]) - lse);
            if (dLogits != null) {
                for (int j = 0; j < v; j++) dLogits.set(off + j, w * logits.exp(logits.get(off + j) - lse));
                dLogits.add(off + targets[r], -w);
            }
        }
        return loss;
    }
}
