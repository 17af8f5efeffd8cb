package org.sparkrlhf.model;

import org.sparkrlhf.tensor.Blas;
import org.sparkrlhf.tensor.FastMath;
import org.sparkrlhf.tensor.FloatTensor;
import org.sparkrlhf.tensor.Parallel;
import org.sparkrlhf.tensor.Scratch;
import org.sparkrlhf.tensor.Tensor;

/**
 * Causal multi-head self-attention over a fused QKV matrix [B, T, 3d]. Each head is a pair of BLAS
 * calls on sub-blocks of that matrix (leading dimension 3d), so no permuted copies are made.
 * Query t may read keys s <= t that are not left padding; a padding query reads only itself, which
 * keeps its (unused) output finite.
 */
final class Attention {
    private Attention() {}

    /** Fills att [B, H, T, T] with probabilities and y [B, T, d] with the heads' outputs. */
    static void forward(Tensor y, Tensor att, Tensor qkv, Batch batch, int nHeads, int d) {
        int bsz = batch.batchSize(), t = batch.length(), hd = d / nHeads, ld = 3 * d;
        double scale = 1.0 / Math.sqrt(hd);
        Parallel.forRange(bsz * nHeads, 1, (part, lo, hi) -> {
            for (int bh = lo; bh < hi; bh++) {
                int b = bh / nHeads, h = bh % nHeads;
                int rowQkv = b * t * ld, start = batch.start()[b], a = bh * t * t;
                Blas.gemm(false, true, t, t, hd, scale, qkv, rowQkv + h * hd, ld, qkv, rowQkv + d + h * hd, ld, 0.0, att, a, t);
                maskedSoftmax(att, a, start, t);
                Blas.gemm(false, false, t, hd, t, 1.0, att, a, t, qkv, rowQkv + 2 * d + h * hd, ld, 0.0, y, b * t * d + h * hd, d);
            }
        });
    }

    /** Causal masked softmax of a whole [t, t] score block at {@code a}: one bulk read and write in float32. */
    static void maskedSoftmax(Tensor att, int a, int start, int t) {
        if (!(att instanceof FloatTensor)) {
            for (int i = 0; i < t; i++) maskedSoftmaxRow(att, a + i * t, i, start, t);
            return;
        }
        float[] block = Scratch.get(0, t * t), k = Scratch.get(1, t * t);
        att.read(a, block, 0, t * t);
        for (int i = 0; i < t; i++) {
            int o = i * t;
            if (i < start) {
                java.util.Arrays.fill(block, o, o + t, 0f);
                block[o + i] = 1f;
                continue;
            }
            float max = Float.NEGATIVE_INFINITY;
            for (int j = o + start; j <= o + i; j++) max = Math.max(max, block[j]);
            for (int j = o + start; j <= o + i; j++) block[j] -= max;
            FastMath.expNonPositive(block, block, k, o + start, o + i + 1);
            float sum = 0;
            for (int j = o + start; j <= o + i; j++) sum += block[j];
            float inv = 1f / sum;
            for (int j = o; j < o + start; j++) block[j] = 0f;
            for (int j = o + start; j <= o + i; j++) block[j] *= inv;
            for (int j = o + i + 1; j < o + t; j++) block[j] = 0f;
        }
        att.write(a, block, 0, t * t);
    }

    /** Softmax of row i over its readable keys; unreadable keys get probability 0 (the float64 reference, and decoding). */
    static void maskedSoftmaxRow(Tensor att, int off, int i, int start, int t) {
        if (att instanceof FloatTensor) {
            float[] row = Scratch.get(0, t), k = Scratch.get(1, t);
            if (i < start) {
                java.util.Arrays.fill(row, 0, t, 0f);
                row[i] = 1f;
            } else {
                att.read(off, row, 0, t);
                float max = Float.NEGATIVE_INFINITY;
                for (int j = start; j <= i; j++) max = Math.max(max, row[j]);
                for (int j = start; j <= i; j++) row[j] -= max;
                FastMath.expNonPositive(row, row, k, start, i + 1);
                float sum = 0;
                for (int j = start; j <= i; j++) sum += row[j];
                float inv = 1f / sum;
                for (int j = 0; j < start; j++) row[j] = 0f;
                for (int j = start; j <= i; j++) row[j] *= inv;
                for (int j = i + 1; j < t; j++) row[j] = 0f;
            }
            att.write(off, row, 0, t);
            return;
        }
        if (i < start) {
            for (int j = 0; j < t; j++) att.set(off + j, j == i ? 1.0 : 0.0);
            return;
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int j = start; j <= i; j++) max = Math.max(max, att.get(off + j));
        double sum = 0;
        for (int j = start; j <= i; j++) {
            double e = Math.exp(att.get(off + j) - max);
            att.set(off + j, e);
            sum += e;
        }
        double inv = 1.0 / sum;
        for (int j = 0; j < t; j++) att.set(off + j, j >= start && j <= i ? att.get(off + j) * inv : 0.0);
    }

    /** scratch[r] = P[r] * (dP[r] - rowsum(dP[r] * P[r])) for every row r, where scratch holds dP. */
    private static void softmaxBackward(Tensor scratch, Tensor att, int a, int t) {
        if (scratch instanceof FloatTensor) {
            float[] dp = Scratch.get(0, t), p = Scratch.get(1, t);
            for (int i = 0; i < t; i++) {
                int r = i * t;
                scratch.read(r, dp, 0, t);
                att.read(a + r, p, 0, t);
                float dot = 0;
                for (int j = 0; j <= i; j++) dot += dp[j] * p[j];
                for (int j = 0; j < t; j++) dp[j] = p[j] * (dp[j] - dot);
                scratch.write(r, dp, 0, t);
            }
            return;
        }
        for (int i = 0; i < t; i++) {
            int r = i * t;
            double dot = 0;
            for (int j = 0; j <= i; j++) dot += scratch.get(r + j) * att.get(a + r + j);
            for (int j = 0; j < t; j++) scratch.set(r + j, att.get(a + r + j) * (scratch.get(r + j) - dot));
        }
    }

    /** Writes dqkv [B, T, 3d] (every element) from dy [B, T, d]; scratch holds T*T elements per thread. */
    static void backward(Tensor dqkv, Tensor dy, Tensor att, Tensor qkv, Tensor[] scratches, Batch batch, int nHeads, int d) {
        int bsz = batch.batchSize(), t = batch.length(), hd = d / nHeads, ld = 3 * d;
        double scale = 1.0 / Math.sqrt(hd);
        Parallel.forRange(bsz * nHeads, 1, (part, lo, hi) -> {
            Tensor scratch = scratches[part];
            for (int bh = lo; bh < hi; bh++) {
                int b = bh / nHeads, h = bh % nHeads;
                int rowQkv = b * t * ld, rowY = b * t * d, a = bh * t * t;
                int q = rowQkv + h * hd, k = rowQkv + d + h * hd, v = rowQkv + 2 * d + h * hd, yo = rowY + h * hd;
                // dP = dY V^T, dV = P^T dY
                Blas.gemm(false, true, t, t, hd, 1.0, dy, yo, d, qkv, v, ld, 0.0, scratch, 0, t);
                Blas.gemm(true, false, t, hd, t, 1.0, att, a, t, dy, yo, d, 0.0, dqkv, v, ld);
                // dS = P * (dP - rowsum(dP * P)); zero wherever P is
                softmaxBackward(scratch, att, a, t);
                // S = scale Q K^T: dQ = scale dS K, dK = scale dS^T Q
                Blas.gemm(false, false, t, hd, t, scale, scratch, 0, t, qkv, k, ld, 0.0, dqkv, q, ld);
                Blas.gemm(true, false, t, hd, t, scale, scratch, 0, t, qkv, q, ld, 0.0, dqkv, k, ld);
            }
        });
    }
}
