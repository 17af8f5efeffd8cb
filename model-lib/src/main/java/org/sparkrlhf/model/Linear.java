package org.sparkrlhf.model;

import org.sparkrlhf.tensor.Blas;
import org.sparkrlhf.tensor.FloatTensor;
import org.sparkrlhf.tensor.Floats;
import org.sparkrlhf.tensor.Parallel;
import org.sparkrlhf.tensor.Scratch;
import org.sparkrlhf.tensor.Tensor;

/** Affine map out[n, oc] = x[n, c] W[c, oc] + b on BLAS. */
final class Linear {
    private Linear() {}

    private static final int MIN_ROWS = 64;

    static void forward(Tensor out, Tensor x, Tensor w, Tensor b, int n, int c, int oc) {
        if (out instanceof FloatTensor) {
            Parallel.forRange(n, MIN_ROWS, (part, lo, hi) -> {
                float[] bv = Scratch.get(0, oc);
                b.read(0, bv, 0, oc);
                for (int r = lo; r < hi; r++) out.write(r * oc, bv, 0, oc);
            });
        } else {
            for (int r = 0; r < n; r++)
                for (int j = 0; j < oc; j++) out.set(r * oc + j, b.get(j));
        }
        Blas.gemm(false, false, n, oc, c, 1.0, x, w, 1.0, out);
    }

    /**
     * Adds dW and db (each skipped when null: a frozen weight); writes dx (overwriting when
     * {@code accumulateDx} is false, adding otherwise).
     */
    static void backward(Tensor dx, boolean accumulateDx, Tensor dw, Tensor db, Tensor dout, Tensor x, Tensor w,
                         int n, int c, int oc) {
        Blas.gemm(false, true, n, c, oc, 1.0, dout, w, accumulateDx ? 1.0 : 0.0, dx);
        if (dw != null) Blas.gemm(true, false, c, oc, n, 1.0, x, dout, 1.0, dw);
        if (db == null) return;
        if (dout instanceof FloatTensor) {
            float[][] acc = new float[Parallel.parts(n, MIN_ROWS)][oc];
            Parallel.forRange(n, MIN_ROWS, (part, lo, hi) -> {
                float[] row = Scratch.get(0, oc), a = acc[part];
                for (int r = lo; r < hi; r++) {
                    dout.read(r * oc, row, 0, oc);
                    for (int j = 0; j < oc; j++) a[j] += row[j];
                }
            });
            Floats.addParts(db, acc, oc);
            return;
        }
        for (int r = 0; r < n; r++)
            for (int j = 0; j < oc; j++) db.add(j, dout.get(r * oc + j));
    }
}
