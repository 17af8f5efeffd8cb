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
    }

    /** Threads OpenBLAS may use for one call. One suits decoding; two helps large training GEMMs. */
    public static void setThreads(int n) {
        openblas.blas_set_num_threads(n);
    }

    public static int threads() {
        return openblas.blas_get_num_threads();
    }

    /**
     * C[M,N] = alpha * op(A) op(B) + beta * C, all row-major; op(A) is [M,K], op(B) is [K,N].
     * A, B and C must share a dtype.
     */
    public static void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
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

    /** Whole-tensor C[M,N] = alpha * op(A) op(B) + beta * C with packed leading dimensions. */
    public static void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
                            Tensor a, Tensor b, double beta, Tensor c) {
        gemm(transA, transB, m, n, k, alpha, a, 0, transA ? m : k, b, 0, transB ? k : n, beta, c, 0, n);
    }
}
