package org.sparkrlhf.model;

import org.sparkrlhf.tensor.Blas;
import org.sparkrlhf.tensor.Tensor;

/** Affine map out[n, oc] = x[n, c] W[c, oc] + b on BLAS. */
final class Linear {
    private Linear() {}

    static void forward(Tensor out, Tensor x, Tensor w, Tensor b, int n, int c, int oc) {
        for (int r = 0; r < n; r++) {
            int o = r * oc;
            for (int j = 0; j < oc; j++) out.set(o + j, b.get(j));
        }
        Blas.gemm(false, false, n, oc, c, 1.0, x, w, 1.0, out);
    }

    /**
     * Adds dW and db; writes dx (overwriting when {@code accumulateDx} is false, adding otherwise).
     */
    static void backward(Tensor dx, boolean accumulateDx, Tensor dw, Tensor db, Tensor dout, Tensor x, Tensor w,
                         int n, int c, int oc) {
        Blas.gemm(false, true, n, c, oc, 1.0, dout, w, accumulateDx ? 1.0 : 0.0, dx);
        Blas.gemm(true, false, c, oc, n, 1.0, x, dout, 1.0, dw);
        for (int r = 0; r < n; r++) {
            int o = r * oc;
            for (int j = 0; j < oc; j++) db.add(j, dout.get(o + j));
        }
    }
}
