package org.sparkrlhf.tensor;

import static org.bytedeco.openblas.global.openblas.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas.CblasTrans;

import org.bytedeco.openblas.global.openblas;

/**
 * Row-major matrix products on {@link Tensor}s through the OpenBLAS that ND4J's CPU backend ships
 * (loaded by JavaCPP, no copies: direct buffers go to BLAS as they are). Offsets and leading
 * dimensions let callers multiply sub-blocks in place, e.g. one attention head's columns of the
 * fused QKV matrix.
 */
public final class Blas {
    private Blas() {}

    static {
        org.bytedeco.javacpp.Loader.load(openblas.class);
        setBlasThreads(1); // parallelism comes from Parallel, which splits GEMMs by rows
    }

    static void setBlasThreads(int n) {
        openblas.blas_set_num_threads(n);
    }

    /** GEMMs below this many multiply-adds stay on one thread: splitting them costs more than it saves. */
    private static final long SPLIT_MIN_MACS = 1L << 20;

    /**
     * C[M,N] = alpha * op(A) op(B) + beta * C, all row-major; op(A) is [M,K], op(B) is [K,N].
     * A, B and C must share a dtype.
     */
    public static void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
                            Tensor a, int offA, int lda, Tensor b, int offB, int ldb,
                            double beta, Tensor c, int offC, int ldc) {
        if (Parallel.threads() > 1 && (long) m * n * k >= SPLIT_MIN_MACS && Math.max(m, n) >= 32) {
            // blocks of C are independent; split its longer side (measured: up to 20% faster than always rows)
            if (m >= n) {
                Parallel.forRange(m, 16, (part, lo, hi) -> gemm1(transA, transB, hi - lo, n, k, alpha,
                        a, offA + (transA ? lo : lo * lda), lda, b, offB, ldb, beta, c, offC + lo * ldc, ldc));
            } else {
                Parallel.forRange(n, 16, (part, lo, hi) -> gemm1(transA, transB, m, hi - lo, k, alpha,
                        a, offA, lda, b, offB + (transB ? lo * ldb : lo), ldb, beta, c, offC + lo, ldc));
            }
            return;
        }
        gemm1(transA, transB, m, n, k, alpha, a, offA, lda, b, offB, ldb, beta, c, offC, ldc);
    }

    private static void gemm1(boolean transA, boolean transB, int m, int n, int k, double alpha,
                              Tensor a, int offA, int lda, Tensor b, int offB, int ldb,
                              double beta, Tensor c, int offC, int ldc) {
        int ta = transA ? CblasTrans : CblasNoTrans, tb = transB ? CblasTrans : CblasNoTrans;
        if (c instanceof FloatTensor fc && a instanceof FloatTensor fa && b instanceof FloatTensor fb) {
            openblas.cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, (float) alpha, fa.at(offA), lda,
                    fb.at(offB), ldb, (float) beta, fc.at(offC), ldc);
        } else if (c instanceof DoubleTensor dc && a instanceof DoubleTensor da && b instanceof DoubleTensor db) {
            openblas.cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, da.at(offA), lda,
                    db.at(offB), ldb, beta, dc.at(offC), ldc);
        } else {
            throw new IllegalArgumentException("gemm needs one dtype, got " + a.dtype() + ", " + b.dtype() + ", " + c.dtype());
        }
    }

    /** y += alpha * x over n float32 elements. */
    static void axpy(int n, double alpha, FloatTensor x, FloatTensor y) {
        openblas.cblas_saxpy(n, (float) alpha, x.at(0), 1, y.at(0), 1);
    }

    /** x . y over float32 tensors of equal size. */
    static double dot(FloatTensor x, FloatTensor y) {
        return openblas.cblas_sdot(x.size(), x.at(0), 1, y.at(0), 1);
    }

    /** Whole-tensor C[M,N] = alpha * op(A) op(B) + beta * C with packed leading dimensions. */
    public static void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
                            Tensor a, Tensor b, double beta, Tensor c) {
        gemm(transA, transB, m, n, k, alpha, a, 0, transA ? m : k, b, 0, transB ? k : n, beta, c, 0, n);
    }
}
