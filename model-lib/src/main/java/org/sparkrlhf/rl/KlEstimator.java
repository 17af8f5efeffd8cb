package org.sparkrlhf.rl;

/**
 * Per-token estimators of KL(policy || reference) from the log-probabilities of the sampled
 * token (Schulman, "Approximating KL divergence"). With log-ratio x = log p(a) - log q(a), a
 * sampled from p:
 * <ul>
 *   <li>K1 = x: unbiased, can be negative per token (the usual choice inside the RLHF reward);</li>
 *   <li>K2 = x^2 / 2: biased, low variance, always >= 0;</li>
 *   <li>K3 = (e^-x - 1) + x: unbiased and always >= 0.</li>
 * </ul>
 */
public enum KlEstimator {
    K1, K2, K3;

    public double estimate(double policyLogProb, double referenceLogProb) {
        double x = policyLogProb - referenceLogProb;
        return switch (this) {
            case K1 -> x;
            case K2 -> 0.5 * x * x;
            case K3 -> Math.expm1(-x) + x;
        };
    }
}
