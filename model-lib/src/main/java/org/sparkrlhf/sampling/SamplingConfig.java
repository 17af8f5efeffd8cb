package org.sparkrlhf.sampling;

import java.util.Arrays;

/**
 * How to pick tokens.
 *
 * @param temperature   logits are divided by it; 0 means greedy
 * @param topK          keep the k most likely tokens (0 = all)
 * @param topP          keep the smallest set whose probability reaches p (1 = all)
 * @param maxNewTokens  tokens to generate at most per sequence
 * @param stopTokens    ids that end a sequence (EOS and any stop tokens); the stop token is kept
 * @param returnValues  also return the model's value estimate per generated token (needs a value head)
 */
public record SamplingConfig(double temperature, int topK, double topP, int maxNewTokens, int[] stopTokens, boolean returnValues)
        implements java.io.Serializable {

    public SamplingConfig {
        if (!(temperature >= 0) || Double.isInfinite(temperature))
            throw new IllegalArgumentException("temperature must be a finite number >= 0 (0 = greedy), got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("topK must be >= 0 (0 = no limit), got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
        if (maxNewTokens <= 0) throw new IllegalArgumentException("maxNewTokens must be > 0, got " + maxNewTokens);
        stopTokens = stopTokens == null ? new int[0] : stopTokens.clone();
    }

    public static SamplingConfig of(double temperature, int maxNewTokens, int... stopTokens) {
        return new SamplingConfig(temperature, 0, 1.0, maxNewTokens, stopTokens, false);
    }

    public SamplingConfig withTopK(int k) {
        return new SamplingConfig(temperature, k, topP, maxNewTokens, stopTokens, returnValues);
    }

    public SamplingConfig withTopP(double p) {
        return new SamplingConfig(temperature, topK, p, maxNewTokens, stopTokens, returnValues);
    }

    public SamplingConfig withValues(boolean values) {
        return new SamplingConfig(temperature, topK, topP, maxNewTokens, stopTokens, values);
    }

    boolean isStop(int token) {
        for (int s : stopTokens) if (s == token) return true;
        return false;
    }

    @Override
    public String toString() {
        return "SamplingConfig[temperature=" + temperature + ", topK=" + topK + ", topP=" + topP + ", maxNewTokens="
                + maxNewTokens + ", stopTokens=" + Arrays.toString(stopTokens) + ", returnValues=" + returnValues + "]";
    }
}
