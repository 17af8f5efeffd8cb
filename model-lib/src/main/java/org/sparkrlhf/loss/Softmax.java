package org.sparkrlhf.loss;

import org.sparkrlhf.tensor.Tensor;

/** Row-wise softmax helpers on a [rows, V] logits matrix. */
public final class Softmax {
    private Softmax() {}

    /** log(sum_j exp(logits[off + j])) for j < v, computed stably. */
    public static double logSumExp(Tensor logits, int off, int v) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < v; j++) max = Math.max(max, logits.get(off + j));
        double s = 0;
        for (int j = 0; j < v; j++) s += logits.exp(logits.get(off + j) - max);
        return max + Math.log(s);
    }

    /** log p(token) under row r's distribution. */
    public static double logProb(Tensor logits, int r, int v, int token) {
        int off = r * v;
        return logits.get(off + token) - logSumExp(logits, off, v);
    }

    /** Entropy -sum p log p of row r. */
    public static double entropy(Tensor logits, int r, int v) {
        int off = r * v;
        double lse = logSumExp(logits, off, v), h = 0;
        for (int j = 0; j < v; j++) {
            double lp = logits.get(off + j) - lse;
            h -= logits.exp(lp) * lp;
        }
        return h;
    }
}
