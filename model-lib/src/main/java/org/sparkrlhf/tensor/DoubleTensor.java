package org.sparkrlhf.tensor;

import java.nio.DoubleBuffer;

/** A {@link Tensor} of 64-bit doubles, used where precision matters more than speed (gradient checks). */
public final class DoubleTensor extends Tensor {
    final DoubleBuffer buf;

    DoubleTensor(DoubleBuffer buf) {
        this.buf = buf;
    }

    @Override public DType dtype() { return DType.FLOAT64; }
    @Override public int size() { return buf.capacity(); }
    @Override public double get(int i) { return buf.get(i); }
    @Override public void set(int i, double v) { buf.put(i, v); }
    @Override public void add(int i, double v) { buf.put(i, buf.get(i) + v); }
    @Override public double exp(double x) { return Math.exp(x); }

    @Override
    public Tensor slice(int offset, int length) {
        return new DoubleTensor(buf.slice(offset, length));
    }

    @Override
    public void fill(double v) {
        for (int i = 0, n = buf.capacity(); i < n; i++) buf.put(i, v);
    }

    @Override
    public void copyFrom(Tensor src) {
        checkSameSize(src);
        if (src instanceof DoubleTensor d) {
            buf.put(0, d.buf, 0, size());
        } else {
            for (int i = 0, n = size(); i < n; i++) buf.put(i, src.get(i));
        }
    }

    @Override
    public float[] toFloatArray() {
        float[] out = new float[size()];
        for (int i = 0; i < out.length; i++) out[i] = (float) buf.get(i);
        return out;
    }

    @Override
    public void copyFrom(float[] src, int srcOffset) {
        for (int i = 0, n = size(); i < n; i++) buf.put(i, src[srcOffset + i]);
    }

    @Override
    public void read(int offset, float[] dst, int dstOffset, int len) {
        for (int i = 0; i < len; i++) dst[dstOffset + i] = (float) buf.get(offset + i);
    }

    @Override
    public void write(int offset, float[] src, int srcOffset, int len) {
        for (int i = 0; i < len; i++) buf.put(offset + i, src[srcOffset + i]);
    }

    DoubleBuffer at(int offset) {
        return buf.duplicate().position(offset);
    }
}
