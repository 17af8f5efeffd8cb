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

    private static final int MIN_ROWS = 64;

    /** out = (x - mean) * rstd * w + b, row by row; keeps mean and rstd for the backward pass. */
    static void forward(Tensor out, Tensor mean, Tensor rstd, Tensor x, Tensor w, Tensor b, int n, int c, double eps) {
        if (out instanceof FloatTensor && x instanceof FloatTensor) {
            Parallel.forRange(n, MIN_ROWS, (part, lo, hi) -> {
                float[] wv = Scratch.get(0, c), bv = Scratch.get(1, c), row = Scratch.get(2, c), dev = Scratch.get(3, c);
                w.read(0, wv, 0, c);
                b.read(0, bv, 0, c);
                for (int r = lo; r < hi; r++) {
                    x.read(r * c, row, 0, c);
                    float m = Floats.sum(row, c) / c;
                    for (int i = 0; i < c; i++) dev[i] = row[i] - m;
                    float s = (float) (1.0 / Math.sqrt(Floats.dot(dev, dev, c) / c + eps));
                    for (int i = 0; i < c; i++) row[i] = dev[i] * s * wv[i] + bv[i];
                    out.write(r * c, row, 0, c);
                    mean.set(r, m);
                    rstd.set(r, s);
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

    /** Adds the gradients for x, w and b given the gradient of out. */
    static void backward(Tensor dx, Tensor dw, Tensor db, Tensor dout, Tensor x, Tensor w,
                         Tensor mean, Tensor rstd, int n, int c) {
        if (dx instanceof FloatTensor && x instanceof FloatTensor && dout instanceof FloatTensor) {
            int parts = Parallel.parts(n, MIN_ROWS);
            float[][] dwAcc = new float[parts][c], dbAcc = new float[parts][c];
            Parallel.forRange(n, MIN_ROWS, (part, lo, hi) -> {
                float[] wv = Scratch.get(0, c), xr = Scratch.get(1, c), dr = Scratch.get(2, c), dxr = Scratch.get(3, c), g = Scratch.get(4, c);
                float[] dwp = dwAcc[part], dbp = dbAcc[part];
                w.read(0, wv, 0, c);
                for (int r = lo; r < hi; r++) {
                    int o = r * c;
                    x.read(o, xr, 0, c);
                    dout.read(o, dr, 0, c);
                    dx.read(o, dxr, 0, c);
                    float m = (float) mean.get(r), s = (float) rstd.get(r);
                    for (int i = 0; i < c; i++) {
                        xr[i] = (xr[i] - m) * s; // xhat from here on
                        g[i] = dr[i] * wv[i];
                    }
                    float meanG = Floats.sum(g, c) / c, meanGx = Floats.dot(g, xr, c) / c;
                    for (int i = 0; i < c; i++) {
                        dbp[i] += dr[i];
                        dwp[i] += dr[i] * xr[i];
                        dxr[i] += (g[i] - meanG - xr[i] * meanGx) * s;
                    }
                    dx.write(o, dxr, 0, c);
                }
            });
            Floats.addParts(dw, dwAcc, c);
            Floats.addParts(db, dbAcc, c);
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
                db.add(i, d);
                dw.add(i, d * xhat);
                dx.add(o + i, (d * w.get(i) - meanG - xhat * meanGx) * s);
            }
        }
    }
}
