package org.sparkrlhf.model;

import org.sparkrlhf.tensor.Tensor;

/**
 * Keys and values of every layer for B sequences, laid out [B, H, capacity, headDim] so that one
 * head's keys are a contiguous [t, headDim] matrix for BLAS. Row b's real tokens start at column
 * start[b] (left padding before it, never attended to).
 */
public final class KvCache {
    final Tensor[] keys, values;
    final int batchSize, capacity;
    final int[] start;
    int length;

    public KvCache(Gpt model, int batchSize, int capacity, int[] start) {
        GptConfig c = model.config();
        if (start.length != batchSize) throw new IllegalArgumentException("start needs one entry per row (" + batchSize + ")");
        this.batchSize = batchSize;
        this.capacity = capacity;
        this.start = start.clone();
        keys = new Tensor[c.nLayers()];
        values = new Tensor[c.nLayers()];
        for (int l = 0; l < c.nLayers(); l++) {
            keys[l] = Tensor.zeros(model.parameters().dtype(), batchSize * capacity * c.dModel());
            values[l] = Tensor.zeros(model.parameters().dtype(), batchSize * capacity * c.dModel());
        }
    }

    /** Columns filled so far. */
    public int length() {
        return length;
    }

    public int capacity() {
        return capacity;
    }
}
