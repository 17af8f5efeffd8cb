package org.sparkrlhf.training;

import java.io.Serializable;

/**
 * One token sequence for language-model training. {@code target[i]} says whether token i is trained
 * on (predicted from tokens before it): every token but the first for pre-training, only response
 * tokens for SFT.
 */
public record LmExample(int[] tokens, boolean[] target) implements Serializable {
    public LmExample {
        if (tokens.length < 2) throw new IllegalArgumentException("a training sequence needs at least 2 tokens, got " + tokens.length);
        if (target.length != tokens.length) throw new IllegalArgumentException("target mask length " + target.length + " != tokens " + tokens.length);
    }

    /** Pre-training: every next token is a target. */
    public static LmExample plain(int[] tokens) {
        boolean[] t = new boolean[tokens.length];
        java.util.Arrays.fill(t, 1, t.length, true);
        return new LmExample(tokens, t);
    }

    /** SFT: the first {@code promptLength} tokens are context only. */
    public static LmExample promptResponse(int[] tokens, int promptLength) {
        boolean[] t = new boolean[tokens.length];
        java.util.Arrays.fill(t, Math.max(1, promptLength), t.length, true);
        return new LmExample(tokens, t);
    }

    public int targetCount() {
        int n = 0;
        for (boolean b : target) if (b) n++;
        return n;
    }
}
