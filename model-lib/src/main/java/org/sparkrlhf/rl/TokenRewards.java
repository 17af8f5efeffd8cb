package org.sparkrlhf.rl;

/**
 * The per-token reward of RLHF's PPO: a KL penalty against the reference model on every response
 * token, plus the reward model's score, normalized and clipped, on the last token, and an
 * optional penalty when the response never produced an end token (it was cut off).
 */
public final class TokenRewards {
    private TokenRewards() {}

    /**
     * @param policyLogProbs    log p(a_t) under the policy that sampled the response
     * @param referenceLogProbs log q(a_t) under the frozen reference (SFT) model
     * @param score             the reward model's raw score of the whole response
     * @param normMean          score mean to subtract (from the reward model's statistics)
     * @param normStd           score standard deviation to divide by
     * @param scoreClip         clip the normalized score to [-clip, clip] (Infinity for none)
     * @param beta              KL coefficient
     * @param endedWithEos      whether the response ended with an end token
     * @param missingEosPenalty added to the score when it did not (0 for none; usually negative)
     */
    public static double[] compute(double[] policyLogProbs, double[] referenceLogProbs, double score, double normMean, double normStd,
                                   double scoreClip, double beta, KlEstimator estimator, boolean endedWithEos, double missingEosPenalty) {
        int n = policyLogProbs.length;
        if (n == 0) throw new IllegalArgumentException("a response needs at least one token");
        if (referenceLogProbs.length != n) throw new IllegalArgumentException("policy and reference log-probabilities differ in length");
        if (!(normStd > 0)) throw new IllegalArgumentException("reward normalization std must be > 0, got " + normStd);
        double[] r = new double[n];
        for (int t = 0; t < n; t++) r[t] = -beta * estimator.estimate(policyLogProbs[t], referenceLogProbs[t]);
        double s = Math.max(-scoreClip, Math.min(scoreClip, (score - normMean) / normStd));
        r[n - 1] += s + (endedWithEos ? 0 : missingEosPenalty);
        return r;
    }
}
