package org.sparkrlhf.model;

import java.util.Arrays;

/**
 * B token sequences laid out in a [B, T] grid. Row b holds real tokens in [start[b], end[b]);
 * positions before start[b] are left padding (prompts of different lengths, for sampling) and
 * after end[b] right padding (training sequences of different lengths). Real token i of a row
 * gets position i - start[b], so padding never shifts a sequence's positions, and attention never
 * reads a left-padding key.
 */
public record Batch(int[] tokens, int batchSize, int length, int[] start, int[] end) {

    public Batch {
        if (batchSize <= 0 || length <= 0)
            throw new IllegalArgumentException("batch needs batchSize > 0 and length > 0, got " + batchSize + "x" + length);
        if (tokens.length != batchSize * length)
            throw new IllegalArgumentException("tokens has " + tokens.length + " ids, expected batchSize*length = " + batchSize * length);
        if (start.length != batchSize || end.length != batchSize)
            throw new IllegalArgumentException("start and end need one entry per row (" + batchSize + ")");
        for (int b = 0; b < batchSize; b++)
            if (start[b] < 0 || end[b] <= start[b] || end[b] > length)
                throw new IllegalArgumentException("row " + b + ": need 0 <= start < end <= " + length + ", got start=" + start[b] + " end=" + end[b]);
    }

    /** Rows of equal length with no padding. */
    public static Batch dense(int[] tokens, int batchSize, int length) {
        int[] s = new int[batchSize], e = new int[batchSize];
        Arrays.fill(e, length);
        return new Batch(tokens, batchSize, length, s, e);
    }

    public int token(int b, int t) {
        return tokens[b * length + t];
    }

    /** Position id of grid cell (b, t): 0 for padding. */
    public int position(int b, int t) {
        return t >= start[b] && t < end[b] ? t - start[b] : 0;
    }

    public boolean isReal(int b, int t) {
        return t >= start[b] && t < end[b];
    }

    /** Longest real span in the batch: what the context length must hold. */
    public int maxSpan() {
        int m = 0;
        for (int b = 0; b < batchSize; b++) m = Math.max(m, end[b] - start[b]);
        return m;
    }

    public void validate(GptConfig config) {
        if (maxSpan() > config.contextLength())
            throw new IllegalArgumentException("a sequence of " + maxSpan() + " tokens exceeds contextLength "
                    + config.contextLength() + "; truncate the input or raise contextLength");
        for (int i = 0; i < tokens.length; i++)
            if (tokens[i] < 0 || tokens[i] >= config.vocabSize())
                throw new IllegalArgumentException("token id " + tokens[i] + " at row " + i / length + ", column " + i % length
                        + " is outside the vocabulary [0, " + config.vocabSize() + ")");
    }
}
