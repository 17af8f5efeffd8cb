package org.sparkrlhf.cuda;

import static org.bytedeco.cuda.global.cublas.*;

import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.javacpp.FloatPointer;

/**
 * Row-major matrix products on device memory through cuBLAS (column-major underneath: a row-major
 * C = op(A) op(B) is the column-major C^T = op(B)^T op(A)^T, so operands swap and nothing is copied).
 */
public final class Cublas implements AutoCloseable {

    /** How float32 products are computed: exact float32, or TF32 tensor cores (10-bit mantissa inputs, float32 sums). */
    public enum Precision { FP32, TF32 }

    private final cublasContext handle = new cublasContext();
    private final Precision precision;
    // host scalars (cuBLAS's default pointer mode); the float[] overloads would treat every operand as a host array
    private final FloatPointer alpha = new FloatPointer(1), beta = new FloatPointer(1);
    private Profiler profiler;

    /** Times every product from now on (null stops). */
    public void profile(Profiler p) {
        this.profiler = p;
    }

    private void begin(boolean transA, boolean transB, int m, int n, int k, int count) {
        if (profiler != null)
            profiler.begin("gemm" + (count > 1 ? "x" + count : "") + " " + m + "x" + n + "x" + k + (transA ? " At" : "") + (transB ? " Bt" : ""),
                    2.0 * m * n * k * count);
    }

    private void end() {
        if (profiler != null) profiler.end();
    }

    public Cublas(Precision precision) {
        check(cublasCreate_v2(handle), "cublasCreate");
        this.precision = precision;
        check(cublasSetMathMode(handle, precision == Precision.TF32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
    }

    public Precision precision() {
        return precision;
    }

    /** C[m, n] = alpha op(A) op(B) + beta C, row-major with leading dimensions; offsets in elements. */
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float a, DeviceMemory A, long offA, int lda,
                     DeviceMemory B, long offB, int ldb, float b, DeviceMemory C, long offC, int ldc) {
        alpha.put(0, a);
        beta.put(0, b);
        begin(transA, transB, m, n, k, 1);
        check(cublasSgemm_v2(handle, transB ? CUBLAS_OP_T : CUBLAS_OP_N, transA ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, alpha,
                ptr(B, offB), ldb, ptr(A, offA), lda, beta, ptr(C, offC), ldc), "cublasSgemm");
        end();
    }

    /** The same product through cublasGemmEx with an explicit compute type (TF32 or FP32) and the tensor-op algorithm choice. */
    public void gemmEx(boolean transA, boolean transB, int m, int n, int k, float a, DeviceMemory A, DeviceMemory B, float b, DeviceMemory C) {
        alpha.put(0, a);
        beta.put(0, b);
        int lda = transA ? m : k, ldb = transB ? k : n, f32 = org.bytedeco.cuda.global.cudart.CUDA_R_32F;
        begin(transA, transB, m, n, k, 1);
        check(cublasGemmEx(handle, transB ? CUBLAS_OP_T : CUBLAS_OP_N, transA ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, alpha,
                ptr(B, 0), f32, ldb, ptr(A, 0), f32, lda, beta, ptr(C, 0), f32, n,
                precision == Precision.TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT_TENSOR_OP), "cublasGemmEx");
        end();
    }

    /** Packed whole matrices: lda, ldb, ldc follow from the shapes. */
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float a, DeviceMemory A, DeviceMemory B, float b, DeviceMemory C) {
        gemm(transA, transB, m, n, k, a, A, 0, transA ? m : k, B, 0, transB ? k : n, b, C, 0, n);
    }

    /**
     * {@code count} products, matrix i of each operand at its offset plus i times its stride (elements),
     * row-major with leading dimensions, as {@link #gemm} for each.
     */
    public void gemmStrided(boolean transA, boolean transB, int m, int n, int k, float a,
                            DeviceMemory A, long offA, int lda, long strideA, DeviceMemory B, long offB, int ldb, long strideB,
                            float b, DeviceMemory C, long offC, int ldc, long strideC, int count) {
        alpha.put(0, a);
        beta.put(0, b);
        begin(transA, transB, m, n, k, count);
        check(cublasSgemmStridedBatched(handle, transB ? CUBLAS_OP_T : CUBLAS_OP_N, transA ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, alpha,
                ptr(B, offB), ldb, strideB, ptr(A, offA), lda, strideA, beta, ptr(C, offC), ldc, strideC, count), "cublasSgemmStridedBatched");
        end();
    }

    private static CudaDevice.FloatAddress ptr(DeviceMemory m, long offset) {
        return new CudaDevice.FloatAddress(m.address() + offset * 4);
    }

    private static void check(int status, String what) {
        if (status != CUBLAS_STATUS_SUCCESS) throw new CudaException(what + " failed: cuBLAS status " + status);
    }

    @Override
    public void close() {
        cublasDestroy_v2(handle);
    }
}
