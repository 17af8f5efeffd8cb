package org.sparkrlhf.model;

import org.sparkrlhf.tensor.Tensor;

/** LayerNorm over the last dimension of an [n, c] matrix, with its exact backward pass. */
final class LayerNorm {
    private LayerNorm() {}

    /** out = (x - mean) * rstd * w + b, row by row; keeps mean and rstd for the backward pass. */
    static void forward(Tensor out, Tensor mean, Tensor rstd, Tensor x, Tensor w, Tensor b, int n, int c, double eps) {
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
