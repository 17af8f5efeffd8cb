package org.sparkrlhf.sampling;

/**
 * Generated continuations, one row per prompt, in prompt order.
 *
 * @param tokens   generated ids (ending with the stop token when one was produced)
 * @param logProbs log-probability of each generated token under the sampling distribution
 * @param values   value estimate at each generated token's input position, or null if not asked
 * @param stopped  whether the row ended on a stop token (rather than reaching maxNewTokens)
 */
public record Samples(int[][] tokens, double[][] logProbs, double[][] values, boolean[] stopped) {

    public int totalTokens() {
        int n = 0;
        for (int[] t : tokens) n += t.length;
        return n;
    }
}
