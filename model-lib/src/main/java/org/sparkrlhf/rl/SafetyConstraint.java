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
 *
 * <p>One limit on the mean over all prompts can be met on the wrong ones: where most prompts are
 * ordinary, the policy pays the limit by cleaning up its ordinary answers while its answers to the
 * harmful prompts stay harmful (measured on the demo's seed 2026). A second limit, on the mean cost
 * of the answers to the prompts known to be harmful (red-team prompts), has its own multiplier
 * {@code mu}, updated the same way from their violation; those answers are scored with
 * {@code lambda + mu}, the others with {@code lambda}.
 */
public final class SafetyConstraint {
    /** LAGRANGIAN adapts lambda to hold the limit; WEIGHTED keeps it at its start (the plain weighted sum). */
    public enum Mode { LAGRANGIAN, WEIGHTED }

    /**
     * @param lambdaLr the integral's step per unit of cost over the limit; @param lambdaMax lambda's ceiling
     * @param lambdaKp the proportional term's weight (0: lambda is the integral)
     * @param harmfulCostLimit the limit on the harmful prompts' mean cost (NaN: none); its multiplier starts at 0
     */
    public record Settings(Mode mode, double costLimit, double lambdaInit, double lambdaLr, double lambdaMax, double lambdaKp,
                           double harmfulCostLimit) implements java.io.Serializable {
        /** The plain integral update (no proportional term). */
        public Settings(Mode mode, double costLimit, double lambdaInit, double lambdaLr, double lambdaMax) {
            this(mode, costLimit, lambdaInit, lambdaLr, lambdaMax, 0);
        }

        /** One limit, on the mean over all prompts. */
        public Settings(Mode mode, double costLimit, double lambdaInit, double lambdaLr, double lambdaMax, double lambdaKp) {
            this(mode, costLimit, lambdaInit, lambdaLr, lambdaMax, lambdaKp, Double.NaN);
        }

        public Settings {
            if (!(lambdaInit >= 0)) throw new IllegalArgumentException("ppo.lambdaInit must be >= 0, got " + lambdaInit);
            if (!(lambdaLr >= 0)) throw new IllegalArgumentException("ppo.lambdaLr must be >= 0, got " + lambdaLr);
            if (!(lambdaMax >= lambdaInit)) throw new IllegalArgumentException("ppo.lambdaMax must be >= ppo.lambdaInit, got " + lambdaMax);
            if (!(lambdaKp >= 0) || Double.isInfinite(lambdaKp)) throw new IllegalArgumentException("ppo.lambdaKp must be >= 0, got " + lambdaKp);
            if (!Double.isFinite(costLimit)) throw new IllegalArgumentException("ppo.costLimit must be a number, got " + costLimit);
            if (Double.isInfinite(harmfulCostLimit)) throw new IllegalArgumentException("ppo.harmfulCostLimit must be a number, got " + harmfulCostLimit);
            if (!Double.isNaN(harmfulCostLimit) && mode != Mode.LAGRANGIAN)
                throw new IllegalArgumentException("ppo.harmfulCostLimit needs ppo.safety=lagrangian (a weighted sum holds no limit)");
        }

        /** Whether the harmful prompts have a limit of their own. */
        public boolean limitsHarmful() {
            return !Double.isNaN(harmfulCostLimit);
        }
    }

    private final Settings settings;
    /** The multiplier of the limit on all prompts, and of the harmful prompts' own limit (0 without one). */
    private final Multiplier all, harmful;

    public SafetyConstraint(Settings settings) {
        this.settings = settings;
        this.all = new Multiplier(settings.lambdaInit());
        this.harmful = new Multiplier(0);
    }

    public Settings settings() {
        return settings;
    }

    public double lambda() {
        return all.value;
    }

    /** The integral term, which a checkpoint keeps beside lambda. */
    public double integral() {
        return all.integral;
    }

    /** The harmful prompts' own multiplier, added to lambda on their answers (0 without their limit). */
    public double harmfulLambda() {
        return harmful.value;
    }

    /** Its integral term. */
    public double harmfulIntegral() {
        return harmful.integral;
    }

    /** After an iteration with one limit: see {@link #update(double, double)}. */
    public void update(double meanCost) {
        update(meanCost, Double.NaN);
    }

    /**
     * After an iteration: each multiplier's integral takes a projected gradient-ascent step on its
     * limit's violation, plus the proportional term (WEIGHTED: none). A mean that is not a number
     * (a batch without harmful prompts, say) leaves its multiplier as it is.
     */
    public void update(double meanCost, double harmfulMeanCost) {
        if (settings.mode() == Mode.WEIGHTED) return;
        all.step(meanCost - settings.costLimit());
        if (settings.limitsHarmful()) harmful.step(harmfulMeanCost - settings.harmfulCostLimit());
    }

    /** Sets lambda and the integral as a checkpoint kept them. */
    public void restore(double lambda, double integral) {
        restore(lambda, integral, 0, 0);
    }

    /** Sets both multipliers and their integrals as a checkpoint kept them. */
    public void restore(double lambda, double integral, double harmfulLambda, double harmfulIntegral) {
        all.value = lambda;
        all.integral = integral;
        harmful.value = harmfulLambda;
        harmful.integral = harmfulIntegral;
    }

    /** One limit's multiplier: its value and its integral term (the value itself when kp is 0). */
    private final class Multiplier {
        double value, integral;

        Multiplier(double start) {
            value = integral = start;
        }

        void step(double violation) {
            if (!Double.isFinite(violation)) return;
            integral = clamp(integral + settings.lambdaLr() * violation);
            value = clamp(integral + settings.lambdaKp() * violation);
        }

        private double clamp(double x) {
            return Math.max(0, Math.min(settings.lambdaMax(), x));
        }
    }

    /** What the policy maximizes: the reward less lambda times the cost, scaled by 1 / (1 + lambda) so its size stays that of a reward. */
    public static double objective(double reward, double cost, double lambda) {
        return (reward - lambda * cost) / (1 + lambda);
    }
}
