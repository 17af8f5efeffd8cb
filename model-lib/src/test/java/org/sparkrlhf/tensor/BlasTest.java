package org.sparkrlhf.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Row-major GEMM with offsets and leading dimensions, split across threads by rows or by columns, against a naive product. */
class BlasTest {

    @AfterEach
    void oneThread() {
        Parallel.setThreads(1);
    }

    @Test
    void everyTransposeAndSplitMatchesTheNaiveProduct() {
        for (int threads : new int[]{1, 2})
            for (int[] mnk : new int[][]{{200, 96, 70}, {96, 200, 70}, {7, 5, 3}})
                for (boolean ta : new boolean[]{false, true})
                    for (boolean tb : new boolean[]{false, true}) check(threads, mnk[0], mnk[1], mnk[2], ta, tb);
    }

    private static void check(int threads, int m, int n, int k, boolean ta, boolean tb) {
        Parallel.setThreads(threads);
        // embed A and B in wider buffers (extra columns, offsets) to exercise lda/ldb/ldc
        int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 5;
        int rowsA = ta ? k : m, rowsB = tb ? n : k;
        Tensor a = Tensor.zeros(DType.FLOAT64, 4 + rowsA * lda), b = Tensor.zeros(DType.FLOAT64, 2 + rowsB * ldb),
                c = Tensor.zeros(DType.FLOAT64, 1 + m * ldc);
        for (int i = 0; i < a.size(); i++) a.set(i, Math.sin(0.37 * i));
        for (int i = 0; i < b.size(); i++) b.set(i, Math.cos(0.11 * i));
        for (int i = 0; i < c.size(); i++) c.set(i, 0.5);
        long macs = (long) m * n * k; // 200x96x70 is above Blas's split threshold: rows split; 96x200x70: columns split
        Blas.gemm(ta, tb, m, n, k, 2.0, a, 4, lda, b, 2, ldb, 0.5, c, 1, ldc);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    double av = ta ? a.get(4 + p * lda + i) : a.get(4 + i * lda + p);
                    double bv = tb ? b.get(2 + j * ldb + p) : b.get(2 + p * ldb + j);
                    s += av * bv;
                }
                assertEquals(2.0 * s + 0.25, c.get(1 + i * ldc + j), 1e-9, "threads " + threads + " m,n,k " + m + "," + n + "," + k + " ta " + ta + " tb " + tb + " macs " + macs);
            }
    }
}
