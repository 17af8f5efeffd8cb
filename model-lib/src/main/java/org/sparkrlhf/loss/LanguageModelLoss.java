package org.sparkrlhf.loss;

import org.sparkrlhf.tensor.FastMath;
import org.sparkrlhf.tensor.FloatTensor;
import org.sparkrlhf.tensor.Floats;
import org.sparkrlhf.tensor.Parallel;
import org.sparkrlhf.tensor.Scratch;
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
        return crossEntropy(logits, v, targets, weights, total, dLogits);
    }

    /**
     * The same loss divided by a given {@code normalizer} instead of this call's weight total: with
     * normalizer 1 it is the sum over tokens, which gradient accumulation across micro-batches and
     * machines needs (the driver divides by the global token count once).
     */
    public static double crossEntropy(Tensor logits, int v, int[] targets, double[] weights, double normalizer, Tensor dLogits) {
        double total = normalizer;
        if (!(total > 0)) throw new IllegalArgumentException("cross-entropy normalizer must be > 0, got " + total);
        if (logits instanceof FloatTensor && (dLogits == null || dLogits instanceof FloatTensor))
            return crossEntropyFloat(logits, v, targets, weights, total, dLogits);
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

    /** The float32 path: rows split across threads, one row at a time on a heap copy. */
    private static double crossEntropyFloat(Tensor logits, int v, int[] targets, double[] weights, double total, Tensor dLogits) {
        double[] partLoss = new double[Parallel.parts(targets.length, 32)];
        Parallel.forRange(targets.length, 32, (part, lo, hi) -> {
            float[] row = Scratch.get(0, v), k = Scratch.get(1, v);
            double loss = 0;
            for (int r = lo; r < hi; r++) {
                int off = r * v;
                float w = (float) (weights[r] / total);
                if (w == 0) {
                    if (dLogits != null) {
                        java.util.Arrays.fill(row, 0, v, 0f);
                        dLogits.write(off, row, 0, v);
                    }
                    continue;
                }
                logits.read(off, row, 0, v);
                float max = Floats.max(row, 0, v), target = row[targets[r]];
                for (int j = 0; j < v; j++) row[j] -= max;
                FastMath.expNonPositive(row, row, k, 0, v);
                float sum = Floats.sum(row, v);
                loss -= w * (target - max - Math.log(sum));
                if (dLogits != null) {
                    float scale = w / sum;
                    for (int j = 0; j < v; j++) row[j] *= scale;
                    row[targets[r]] -= w;
                    dLogits.write(off, row, 0, v);
                }
            }
            partLoss[part] = loss;
        });
        double loss = 0;
        for (double l : partLoss) loss += l;
        return loss;
    }
}
