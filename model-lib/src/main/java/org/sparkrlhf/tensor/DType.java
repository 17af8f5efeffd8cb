package org.sparkrlhf.tensor;

/** Element type of a {@link Tensor}: FLOAT32 for training and serving, FLOAT64 for gradient checks. */
public enum DType {
    FLOAT32(4), FLOAT64(8);

    public final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }
}
