package org.sparkrlhf.rl;

import java.io.Serializable;

/**
 * One sampled response and everything PPO needs about it, per response token t: the sampling
 * policy's log-probability, the reference model's, the critic's value of the state before t, the
 * shaped reward, and the advantage and return from GAE (advantages are whitened later, with
 * statistics of the whole batch).
 */
public record Experience(int[] prompt, int[] response, double[] oldLogProbs, double[] refLogProbs, double[] oldValues,
                         double score, boolean endedWithEos, double[] rewards, double[] advantages, double[] returns)
        implements Serializable {

    /** Mean per-token KL estimate (k1) of this response against the reference. */
    public double klSum() {
        double s = 0;
        for (int t = 0; t < response.length; t++) s += oldLogProbs[t] - refLogProbs[t];
        return s;
    }
}
