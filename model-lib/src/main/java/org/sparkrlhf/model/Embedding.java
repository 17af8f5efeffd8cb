package org.sparkrlhf.model;

import org.sparkrlhf.tensor.FloatTensor;
import org.sparkrlhf.tensor.Scratch;
import org.sparkrlhf.tensor.Tensor;

/** Token plus learned position embeddings, and the scatter-add of their gradients. */
final class Embedding {
    private Embedding() {}

    /** out[b, i] = wte[token] + wpe[position]; padding cells read token and position rows too (their outputs are unused). */
    static void forward(Tensor out, Tensor wte, Tensor wpe, Batch batch, int d) {
        int bsz = batch.batchSize(), t = batch.length();
        boolean fast = out instanceof FloatTensor;
        float[] a = fast ? Scratch.get(0, d) : null, p = fast ? Scratch.get(1, d) : null;
        for (int b = 0; b < bsz; b++)
            for (int i = 0; i < t; i++) {
                int row = (b * t + i) * d, tok = batch.token(b, i) * d, pos = batch.position(b, i) * d;
                if (fast) {
                    wte.read(tok, a, 0, d);
                    wpe.read(pos, p, 0, d);
                    for (int j = 0; j < d; j++) a[j] += p[j];
                    out.write(row, a, 0, d);
                } else {
                    for (int j = 0; j < d; j++) out.set(row + j, wte.get(tok + j) + wpe.get(pos + j));
                }
            }
    }

    /** Adds each cell's gradient into its token's and its position's rows (nothing when both are frozen, null). */
    static void backward(Tensor dWte, Tensor dWpe, Tensor dOut, Batch batch, int d) {
        if (dWte == null && dWpe == null) return;
        int bsz = batch.batchSize(), t = batch.length();
        boolean fast = dOut instanceof FloatTensor;
        float[] g = fast ? Scratch.get(0, d) : null, acc = fast ? Scratch.get(1, d) : null;
        for (int b = 0; b < bsz; b++)
            for (int i = 0; i < t; i++) {
                int row = (b * t + i) * d, tok = batch.token(b, i) * d, pos = batch.position(b, i) * d;
                if (fast) {
                    dOut.read(row, g, 0, d);
                    if (dWte != null) addRow(dWte, tok, g, acc, d);
                    if (dWpe != null) addRow(dWpe, pos, g, acc, d);
                } else {
                    for (int j = 0; j < d; j++) {
                        double v = dOut.get(row + j);
                        if (dWte != null) dWte.add(tok + j, v);
                        if (dWpe != null) dWpe.add(pos + j, v);
                    }
                }
            }
    }

    private static void addRow(Tensor target, int off, float[] g, float[] scratch, int d) {
        target.read(off, scratch, 0, d);
        for (int j = 0; j < d; j++) scratch[j] += g[j];
        target.write(off, scratch, 0, d);
    }
}
