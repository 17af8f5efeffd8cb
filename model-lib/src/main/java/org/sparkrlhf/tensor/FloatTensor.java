package org.sparkrlhf.tensor;

import java.nio.FloatBuffer;

/** A {@link Tensor} of 32-bit floats. */
public final class FloatTensor extends Tensor {
    final FloatBuffer buf;

    FloatTensor(FloatBuffer buf) {
        this.buf = buf;
    }

    @Override public DType dtype() { return DType.FLOAT32; }
    @Override public int size() { return buf.capacity(); }
    @Override public double get(int i) { return buf.get(i); }
    @Override public void set(int i, double v) { buf.put(i, (float) v); }
    @Override public void add(int i, double v) { buf.put(i, buf.get(i) + (float) v); }
    @Override public double exp(double x) { return FastMath.expFloat((float) x); }

    @Override
    public Tensor slice(int offset, int length) {
        return new FloatTensor(buf.slice(offset, length));
    }

    private static final float[] ZEROS = new float[1 << 14];

    @Override
    public void fill(double v) {
        float f = (float) v;
        if (f == 0f && Float.floatToRawIntBits(f) == 0) { // bulk copies of a zero block: this runs on every gradient buffer every step
            for (int o = 0, n = buf.capacity(); o < n; o += ZEROS.length) buf.put(o, ZEROS, 0, Math.min(ZEROS.length, n - o));
            return;
        }
        for (int i = 0, n = buf.capacity(); i < n; i++) buf.put(i, f);
    }

    /** One bulk copy each way: parameters and gradients cross JVMs this way every step. */
    @Override
    public byte[] toFloatBytes() {
        java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate(size() * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        out.asFloatBuffer().put(0, buf, 0, size());
        return out.array();
    }

    @Override
    public void copyFromFloatBytes(byte[] bytes) {
        if (bytes.length != size() * 4) throw new IllegalArgumentException("expected " + size() * 4 + " bytes, got " + bytes.length);
        buf.put(0, java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer(), 0, size());
    }

    @Override
    public void copyFrom(Tensor src) {
        checkSameSize(src);
        if (src instanceof FloatTensor f) {
            buf.put(0, f.buf, 0, size());
        } else {
            for (int i = 0, n = size(); i < n; i++) buf.put(i, (float) src.get(i));
        }
    }

    @Override
    public float[] toFloatArray() {
        float[] out = new float[size()];
        buf.get(0, out);
        return out;
    }

    @Override
    public void copyFrom(float[] src, int srcOffset) {
        buf.put(0, src, srcOffset, size());
    }

    @Override
    public void read(int offset, float[] dst, int dstOffset, int len) {
        buf.get(offset, dst, dstOffset, len);
    }

    @Override
    public void write(int offset, float[] src, int srcOffset, int len) {
        buf.put(offset, src, srcOffset, len);
    }

    /** The buffer positioned at {@code offset}, as OpenBLAS reads it (JavaCPP honours the position). */
    FloatBuffer at(int offset) {
        return buf.duplicate().position(offset);
    }
}
