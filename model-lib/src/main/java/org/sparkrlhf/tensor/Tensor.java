package org.sparkrlhf.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A flat run of numbers in native (off-heap) memory. Shapes stay with the code that uses a tensor,
 * as in llm.c: kernels take explicit sizes, so the memory layout is always in plain sight.
 *
 * <p>Why not ND4J's INDArray ops: at this model's sizes ND4J M2.1's eager element-wise ops measured
 * 3-30x slower than JIT-compiled Java loops over direct buffers, while its OpenBLAS GEMM is fast. So
 * tensors are direct buffers that {@link Blas} hands to OpenBLAS without copying, and element-wise
 * work is plain Java. Kernels are written once against {@link #get}/{@link #set}: a JVM that only
 * trains in float sees one implementation at each call site and inlines it.
 */
public abstract sealed class Tensor permits FloatTensor, DoubleTensor {

    public static Tensor zeros(DType dtype, int size) {
        if (size < 0) throw new IllegalArgumentException("tensor size must be >= 0, got " + size);
        ByteBuffer bytes = ByteBuffer.allocateDirect(Math.max(1, size) * dtype.bytes).order(ByteOrder.nativeOrder());
        return dtype == DType.FLOAT32
                ? new FloatTensor(bytes.asFloatBuffer().limit(size).slice())
                : new DoubleTensor(bytes.asDoubleBuffer().limit(size).slice());
    }

    public static Tensor of(DType dtype, double... values) {
        Tensor t = zeros(dtype, values.length);
        for (int i = 0; i < values.length; i++) t.set(i, values[i]);
        return t;
    }

    public abstract DType dtype();

    public abstract int size();

    public abstract double get(int i);

    public abstract void set(int i, double v);

    public abstract void add(int i, double v);

    /** exp at this tensor's precision: a fast float-accurate version for FLOAT32, exact for FLOAT64. */
    public abstract double exp(double x);

    /** A tensor sharing this one's memory from {@code offset} for {@code length} elements. */
    public abstract Tensor slice(int offset, int length);

    public abstract void fill(double v);

    /** Copies all of {@code src} (same size, any dtype) into this tensor. */
    public abstract void copyFrom(Tensor src);

    public abstract float[] toFloatArray();

    public abstract void copyFrom(float[] src, int srcOffset);

    /** All elements as little-endian float32 bytes: the cheapest form to ship between JVMs. */
    public byte[] toFloatBytes() {
        java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate(size() * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        float[] chunk = new float[Math.min(size(), 1 << 14)];
        for (int o = 0; o < size(); o += chunk.length) {
            int len = Math.min(chunk.length, size() - o);
            read(o, chunk, 0, len);
            out.asFloatBuffer().put(o, chunk, 0, len);
        }
        return out.array();
    }

    /** Replaces all elements from {@link #toFloatBytes()} output. */
    public void copyFromFloatBytes(byte[] bytes) {
        if (bytes.length != size() * 4) throw new IllegalArgumentException("expected " + size() * 4 + " bytes, got " + bytes.length);
        java.nio.FloatBuffer in = java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        float[] chunk = new float[Math.min(size(), 1 << 14)];
        for (int o = 0; o < size(); o += chunk.length) {
            int len = Math.min(chunk.length, size() - o);
            in.get(o, chunk, 0, len);
            write(o, chunk, 0, len);
        }
    }

    /** Bulk-reads {@code len} elements from {@code offset} into {@code dst} (rounded to float). */
    public abstract void read(int offset, float[] dst, int dstOffset, int len);

    /** Bulk-writes {@code len} elements of {@code src} at {@code offset}. */
    public abstract void write(int offset, float[] src, int srcOffset, int len);

    public final void zero() {
        fill(0.0);
    }

    public final Tensor copy() {
        Tensor t = zeros(dtype(), size());
        t.copyFrom(this);
        return t;
    }

    public final Tensor toDType(DType dtype) {
        Tensor t = zeros(dtype, size());
        t.copyFrom(this);
        return t;
    }

    /** this[i] += alpha * x[i] over the whole tensor (BLAS axpy when both are float32). */
    public final void addScaled(Tensor x, double alpha) {
        checkSameSize(x);
        if (this instanceof FloatTensor y && x instanceof FloatTensor xf) {
            Blas.axpy(size(), alpha, xf, y);
            return;
        }
        for (int i = 0, n = size(); i < n; i++) add(i, alpha * x.get(i));
    }

    public final void scale(double alpha) {
        for (int i = 0, n = size(); i < n; i++) set(i, get(i) * alpha);
    }

    public final double sumOfSquares() {
        if (this instanceof FloatTensor f) return Blas.dot(f, f); // NaN and overflow propagate, unlike nrm2's scaling
        double s = 0;
        for (int i = 0, n = size(); i < n; i++) {
            double v = get(i);
            s += v * v;
        }
        return s;
    }

    /** True when every element is finite (no NaN or infinity). */
    public final boolean allFinite() {
        for (int i = 0, n = size(); i < n; i++) if (!Double.isFinite(get(i))) return false;
        return true;
    }

    final void checkSameSize(Tensor other) {
        if (other.size() != size())
            throw new IllegalArgumentException("tensor sizes differ: " + size() + " vs " + other.size());
    }
}
