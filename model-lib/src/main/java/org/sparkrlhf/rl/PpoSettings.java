package org.sparkrlhf.rl;

import java.io.Serializable;

/**
 * PPO's hyper-parameters, with the published defaults (Ziegler et al. 2019, Ouyang et al. 2022,
 * and the common open implementations) in {@link #defaults()}.
 *
 * @param gamma             discount (1: the reward arrives once, at the end)
 * @param lambda            GAE lambda
 * @param clip              policy ratio clip epsilon
 * @param valueClip         critic value clip (around the old value)
 * @param entropyCoef       entropy bonus weight
 * @param valueCoef         weight of the critic loss (the critic is a separate model; kept for reporting)
 * @param klEstimator       per-token KL estimate inside the reward
 * @param scoreClip         clip of the normalized reward-model score
 * @param missingEosPenalty added to the score of a response that never ended
 */
public record PpoSettings(double gamma, double lambda, double clip, double valueClip, double entropyCoef, double valueCoef,
                          KlEstimator klEstimator, double scoreClip, double missingEosPenalty) implements Serializable {

    public PpoSettings {
        if (!(gamma >= 0 && gamma <= 1)) throw new IllegalArgumentException("ppo.gamma must be in [0, 1], got " + gamma);
        if (!(lambda >= 0 && lambda <= 1)) throw new IllegalArgumentException("ppo.lambda must be in [0, 1], got " + lambda);
        if (!(clip > 0)) throw new IllegalArgumentException("ppo.clip must be > 0, got " + clip);
        if (!(valueClip >= 0)) throw new IllegalArgumentException("ppo.valueClip must be >= 0 (0: no clipping), got " + valueClip);
        if (!(entropyCoef >= 0)) throw new IllegalArgumentException("ppo.entropyCoef must be >= 0, got " + entropyCoef);
        if (!(scoreClip > 0)) throw new IllegalArgumentException("ppo.scoreClip must be > 0, got " + scoreClip);
    }

    public static PpoSettings defaults() {
        return new PpoSettings(1.0, 0.95, 0.2, 0.2, 0.0, 1.0, KlEstimator.K1, 5.0, 0.0);
    }
}
