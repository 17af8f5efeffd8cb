package org.sparkrlhf.rl;

/**
 * Helpful and harmless at once (Safe RLHF, Dai et al. 2023): maximize the reward subject to the
 * expected cost (harm) staying at or under a limit, solved as PPO-Lagrangian (Ray et al. 2019).
 * The policy maximizes {@code (reward - lambda * cost) / (1 + lambda)}; the driver raises lambda
 * while the iteration's mean cost is over the limit and lowers it (not below 0) while it is under:
 * {@code lambda <- clamp(lambda + lr * (meanCost - limit), 0, max)}. The weighted-sum alternative
 * keeps lambda fixed. Reward and cost are in the units of their models' normalization (standard
 * deviations of the training data's scores), so the limit is too.
 */
public final class SafetyConstraint {
    /** LAGRANGIAN adapts lambda to hold the limit; WEIGHTED keeps it at its start (the plain weighted sum). */
    public enum Mode { LAGRANGIAN, WEIGHTED }

    /** @param lambdaLr the multiplier's step per unit of cost over the limit; @param lambdaMax its ceiling */
    public record Settings(Mode mode, double costLimit, double lambdaInit, double lambdaLr, double lambdaMax) implements java.io.Serializable {
        public Settings {
            if (!(lambdaInit >= 0)) throw new IllegalArgumentException("ppo.lambdaInit must be >= 0, got " + lambdaInit);
            if (!(lambdaLr >= 0)) throw new IllegalArgumentException("ppo.lambdaLr must be >= 0, got " + lambdaLr);
            if (!(lambdaMax >= lambdaInit)) throw new IllegalArgumentException("ppo.lambdaMax must be >= ppo.lambdaInit, got " + lambdaMax);
            if (!Double.isFinite(costLimit)) throw new IllegalArgumentException("ppo.costLimit must be a number, got " + costLimit);
        }
    }

    private final Settings settings;
    private double lambda;

    public SafetyConstraint(Settings settings) {
        this.settings = settings;
        this.lambda = settings.lambdaInit();
    }

    public Settings settings() {
        return settings;
    }

    public double lambda() {
        return lambda;
    }

    /** After an iteration: the multiplier's projected gradient-ascent step on the constraint's violation (WEIGHTED: none). */
    public void update(double meanCost) {
        if (settings.mode() == Mode.WEIGHTED || !Double.isFinite(meanCost)) return;
        lambda = Math.max(0, Math.min(settings.lambdaMax(), lambda + settings.lambdaLr() * (meanCost - settings.costLimit())));
    }

    /** Sets lambda as a checkpoint kept it. */
    public void restore(double lambda) {
        this.lambda = lambda;
    }

    /** What the policy maximizes: the reward less lambda times the cost, scaled by 1 / (1 + lambda) so its size stays that of a reward. */
    public static double objective(double reward, double cost, double lambda) {
        return (reward - lambda * cost) / (1 + lambda);
    }
}
