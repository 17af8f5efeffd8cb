package org.sparkrlhf.model;

import org.sparkrlhf.tensor.FloatTensor;
import org.sparkrlhf.tensor.Floats;
import org.sparkrlhf.tensor.Parallel;
import org.sparkrlhf.tensor.Scratch;
import org.sparkrlhf.tensor.Tensor;

/**
 * LayerNorm over the last dimension of an [n, c] matrix, with its exact backward pass. float32
 * works row by row on heap copies (vectorized, rows split across threads); float64 is the reference.
 */
final class LayerNorm {
    private LayerNorm() {}

    private static final int MIN_ROWS = 64, BLOCK = 32;

    /** out = (x - mean) * rstd * w + b, row by row; keeps mean and rstd for the backward pass. */
    static void forward(Tensor out, Tensor mean, Tensor rstd, Tensor x, Tensor w, Tensor b, int n, int c, double eps) {
        if (out instanceof FloatTensor && x instanceof FloatTensor) {
            Parallel.forRange(n, MIN_ROWS, (part, lo, hi) -> {
                float[] wv = Scratch.get(0, c), bv = Scratch.get(1, c), rows = Scratch.get(2, BLOCK * c), dev = Scratch.get(3, c);
                w.read(0, wv, 0, c);
                b.read(0, bv, 0, c);
                for (int r0 = lo; r0 < hi; r0 += BLOCK) {
                    int nr = Math.min(BLOCK, hi - r0);
                    x.read(r0 * c, rows, 0, nr * c); // a block of rows per bulk copy: per-call costs dominate 128-wide rows
                    for (int rr = 0; rr < nr; rr++) {
                        int o = rr * c;
                        float sum = 0;
                        for (int i = 0; i < c; i++) {
                            dev[i] = rows[o + i];
                            sum += dev[i];
                        }
                        float m = sum / c;
                        for (int i = 0; i < c; i++) dev[i] -= m;
                        float s = (float) (1.0 / Math.sqrt(Floats.dot(dev, dev, c) / c + eps));
                        for (int i = 0; i < c; i++) rows[o + i] = dev[i] * s * wv[i] + bv[i];
                        mean.set(r0 + rr, m);
                        rstd.set(r0 + rr, s);
                    }
                    out.write(r0 * c, rows, 0, nr * c);
                }
            });
            return;
        }
        for (int r = 0; r < n; r++) {
            int o = r * c;
            double m = 0;
            for (int i = 0; i < c; i++) m += x.get(o + i);
            m /= c;
            double v = 0;
            for (int i = 0; i < c; i++) {
                double dx = x.get(o + i) - m;
                v += dx * dx;
            }
            double s = 1.0 / Math.sqrt(v / c + eps);
            for (int i = 0; i < c; i++) out.set(o + i, (x.get(o + i) - m) * s * w.get(i) + b.get(i));
            mean.set(r, m);
            rstd.set(r, s);
        }
    }

    /** Adds the gradients for x, w and b given the gradient of out (w's and b's are skipped when null: frozen). */
    static void backward(Tensor dx, Tensor dw, Tensor db, Tensor dout, Tensor x, Tensor w,
                         Tensor mean, Tensor rstd, int n, int c) {
        if (dx instanceof FloatTensor && x instanceof FloatTensor && dout instanceof FloatTensor) {
            int parts = Parallel.parts(n, MIN_ROWS);
            float[][] dwAcc = new float[parts][c], dbAcc = new float[parts][c];
            Parallel.forRange(n, MIN_ROWS, (part, lo, hi) -> {
                float[] wv = Scratch.get(0, c), xr = Scratch.get(1, BLOCK * c), dr = Scratch.get(2, BLOCK * c),
                        dxr = Scratch.get(3, BLOCK * c), g = Scratch.get(4, c), xh = Scratch.get(5, c);
                float[] dwp = dwAcc[part], dbp = dbAcc[part];
                w.read(0, wv, 0, c);
                for (int r0 = lo; r0 < hi; r0 += BLOCK) {
                    int nr = Math.min(BLOCK, hi - r0), len = nr * c;
                    x.read(r0 * c, xr, 0, len);
                    dout.read(r0 * c, dr, 0, len);
                    dx.read(r0 * c, dxr, 0, len);
                    for (int rr = 0; rr < nr; rr++) {
                        int o = rr * c;
                        float m = (float) mean.get(r0 + rr), s = (float) rstd.get(r0 + rr);
                        float meanG = 0, meanGx = 0;
                        for (int i = 0; i < c; i++) {
                            xh[i] = (xr[o + i] - m) * s;
                            g[i] = dr[o + i] * wv[i];
                            meanG += g[i];
                            meanGx += g[i] * xh[i];
                        }
                        meanG /= c;
                        meanGx /= c;
                        for (int i = 0; i < c; i++) {
                            dbp[i] += dr[o + i];
                            dwp[i] += dr[o + i] * xh[i];
                            dxr[o + i] += (g[i] - meanG - xh[i] * meanGx) * s;
                        }
                    }
                    dx.write(r0 * c, dxr, 0, len);
                }
            });
            if (dw != null) Floats.addParts(dw, dwAcc, c);
            if (db != null) Floats.addParts(db, dbAcc, c);
            return;
        }
        for (int r = 0; r < n; r++) {
            int o = r * c;
            double m = mean.get(r), s = rstd.get(r);
            double meanG = 0, meanGx = 0;
            for (int i = 0; i < c; i++) {
                double g = dout.get(o + i) * w.get(i);
                double xhat = (x.get(o + i) - m) * s;
                meanG += g;
                meanGx += g * xhat;
            }
            meanG /= c;
            meanGx /= c;
            for (int i = 0; i < c; i++) {
                double d = dout.get(o + i);
                double xhat = (x.get(o + i) - m) * s;
                if (db != null) db.add(i, d);
                if (dw != null) dw.add(i, d * xhat);
                dx.add(o + i, (d * w.get(i) - meanG - xhat * meanGx) * s);
            }
        }
    }
}
