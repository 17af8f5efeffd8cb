package org.sparkrlhf.rl;

/**
 * Helpful and harmless at once (Safe RLHF, Dai et al. 2023): maximize the reward subject to the
 * expected cost (harm) staying at or under a limit, solved as PPO-Lagrangian (Ray et al. 2019).
 * The policy maximizes {@code (reward - lambda * cost) / (1 + lambda)}; the driver raises lambda
 * while the iteration's mean cost is over the limit and lowers it (not below 0) while it is under:
 * {@code lambda <- clamp(lambda + lr * (meanCost - limit), 0, max)}. The weighted-sum alternative
 * keeps lambda fixed. Reward and cost are in the units of their models' normalization (standard
 * deviations of the training data's scores), so the limit is too.
 *
 * <p>That integral step alone winds up: the SFT model's first rollouts cost far over the limit, lambda
 * climbs for as long as they do and then takes tens of iterations to come down after the policy
 * already holds the limit, with the reward all but silenced ({@code 1 / (1 + lambda)}) meanwhile.
 * A proportional term (PID Lagrangian, Stooke et al. 2020) answers the current violation at once:
 * {@code lambda = clamp(I + kp * (meanCost - limit), 0, max)} with the integral
 * {@code I <- clamp(I + lr * (meanCost - limit), 0, max)}; kp 0 is the plain update above.
 */
public final class SafetyConstraint {
    /** LAGRANGIAN adapts lambda to hold the limit; WEIGHTED keeps it at its start (the plain weighted sum). */
    public enum Mode { LAGRANGIAN, WEIGHTED }

    /**
     * @param lambdaLr the integral's step per unit of cost over the limit; @param lambdaMax lambda's ceiling
     * @param lambdaKp the proportional term's weight (0: lambda is the integral)
     */
    public record Settings(Mode mode, double costLimit, double lambdaInit, double lambdaLr, double lambdaMax, double lambdaKp) implements java.io.Serializable {
        /** The plain integral update (no proportional term). */
        public Settings(Mode mode, double costLimit, double lambdaInit, double lambdaLr, double lambdaMax) {
            this(mode, costLimit, lambdaInit, lambdaLr, lambdaMax, 0);
        }

        public Settings {
            if (!(lambdaInit >= 0)) throw new IllegalArgumentException("ppo.lambdaInit must be >= 0, got " + lambdaInit);
            if (!(lambdaLr >= 0)) throw new IllegalArgumentException("ppo.lambdaLr must be >= 0, got " + lambdaLr);
            if (!(lambdaMax >= lambdaInit)) throw new IllegalArgumentException("ppo.lambdaMax must be >= ppo.lambdaInit, got " + lambdaMax);
            if (!(lambdaKp >= 0) || Double.isInfinite(lambdaKp)) throw new IllegalArgumentException("ppo.lambdaKp must be >= 0, got " + lambdaKp);
            if (!Double.isFinite(costLimit)) throw new IllegalArgumentException("ppo.costLimit must be a number, got " + costLimit);
        }
    }

    private final Settings settings;
    private double lambda;
    /** The integral term (lambda itself when kp is 0). */
    private double integral;

    public SafetyConstraint(Settings settings) {
        this.settings = settings;
        this.lambda = settings.lambdaInit();
        this.integral = settings.lambdaInit();
    }

    public Settings settings() {
        return settings;
    }

    public double lambda() {
        return lambda;
    }

    /** The integral term, which a checkpoint keeps beside lambda. */
    public double integral() {
        return integral;
    }

    /** After an iteration: the integral's projected gradient-ascent step on the constraint's violation, plus the proportional term (WEIGHTED: none). */
    public void update(double meanCost) {
        if (settings.mode() == Mode.WEIGHTED || !Double.isFinite(meanCost)) return;
        double violation = meanCost - settings.costLimit();
        integral = clamp(integral + settings.lambdaLr() * violation);
        lambda = clamp(integral + settings.lambdaKp() * violation);
    }

    private double clamp(double x) {
        return Math.max(0, Math.min(settings.lambdaMax(), x));
    }

    /** Sets lambda and the integral as a checkpoint kept them. */
    public void restore(double lambda, double integral) {
        this.lambda = lambda;
        this.integral = integral;
    }

    /** What the policy maximizes: the reward less lambda times the cost, scaled by 1 / (1 + lambda) so its size stays that of a reward. */
    public static double objective(double reward, double cost, double lambda) {
        return (reward - lambda * cost) / (1 + lambda);
    }
}
