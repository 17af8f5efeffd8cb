package org.sparkrlhf.bench;

import org.sparkrlhf.tensor.Blas;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tensor.Parallel;
import org.sparkrlhf.tensor.Tensor;

/** The machine's own fp32 GEMM rate: the ceiling that model throughput is compared against. */
public final class GemmRate {
    private GemmRate() {}

    /** GFLOP/s of an n x n x n product on the current {@link Parallel} thread setting, best of several runs. */
    public static double measure(int n) {
        Tensor a = Tensor.zeros(DType.FLOAT32, n * n), b = Tensor.zeros(DType.FLOAT32, n * n), c = Tensor.zeros(DType.FLOAT32, n * n);
        for (int i = 0; i < n * n; i++) {
            a.set(i, (i % 7) * 0.1);
            b.set(i, (i % 5) * 0.1);
        }
        double best = 0;
        for (int rep = 0; rep < 8; rep++) {
            long t0 = System.nanoTime();
            Blas.gemm(false, false, n, n, n, 1.0, a, b, 0.0, c);
            double s = (System.nanoTime() - t0) / 1e9;
            if (rep >= 2) best = Math.max(best, 2.0 * n * n * n / s / 1e9);
        }
        return best;
    }
}
