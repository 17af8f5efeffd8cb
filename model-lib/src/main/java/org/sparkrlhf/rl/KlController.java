package org.sparkrlhf.rl;

import java.io.Serializable;

/**
 * The KL penalty coefficient beta. Fixed, or adaptive as in Ziegler et al. (2019): after each
 * iteration beta is multiplied by 1 + clip(KL / target - 1, -0.2, 0.2) * n / horizon, steering
 * the measured KL toward the target, never below {@code minBeta}: while the policy barely moves (a
 * safety constraint silencing the reward early on) the controller would otherwise keep lowering
 * beta, and the KL overshoots once the policy moves again. A shorter {@code raiseHorizon} raises
 * beta faster than it lowers it: a policy that suddenly finds what the reward model likes can move
 * nats in a few iterations, far faster than the symmetric step answers. Its state is saved in checkpoints.
 */
public final class KlController implements Serializable {
    private final boolean adaptive;
    private final double target, horizon, minBeta, raiseHorizon;
    private double beta;

    private KlController(double beta, boolean adaptive, double target, double horizon, double minBeta, double raiseHorizon) {
        if (!(beta >= 0) || Double.isInfinite(beta)) throw new IllegalArgumentException("KL coefficient (ppo.klBeta) must be finite and >= 0, got " + beta);
        if (adaptive && !(target > 0)) throw new IllegalArgumentException("adaptive KL target (ppo.klTarget) must be > 0, got " + target);
        if (adaptive && !(horizon > 0)) throw new IllegalArgumentException("adaptive KL horizon (ppo.klHorizon) must be > 0, got " + horizon);
        if (adaptive && !(raiseHorizon > 0 && raiseHorizon <= horizon))
            throw new IllegalArgumentException("adaptive KL raise horizon (ppo.klRaiseHorizon) must be > 0 and <= ppo.klHorizon (" + horizon + "), got " + raiseHorizon);
        if (!(minBeta >= 0) || minBeta > beta) throw new IllegalArgumentException("KL coefficient floor (ppo.klBetaMin) must be between 0 and beta's start (ppo.klBeta, " + beta + "), got " + minBeta);
        this.beta = beta;
        this.adaptive = adaptive;
        this.target = target;
        this.horizon = horizon;
        this.minBeta = minBeta;
        this.raiseHorizon = raiseHorizon;
    }

    public static KlController fixed(double beta) {
        return new KlController(beta, false, 0, 0, 0, 0);
    }

    public static KlController adaptive(double initialBeta, double targetKl, double horizon) {
        return adaptive(initialBeta, targetKl, horizon, 0);
    }

    /** Adaptive, with beta never below {@code minBeta}. */
    public static KlController adaptive(double initialBeta, double targetKl, double horizon, double minBeta) {
        return adaptive(initialBeta, targetKl, horizon, minBeta, horizon);
    }

    /** Adaptive, with beta never below {@code minBeta}, raised over {@code raiseHorizon} episodes and lowered over {@code horizon}. */
    public static KlController adaptive(double initialBeta, double targetKl, double horizon, double minBeta, double raiseHorizon) {
        return new KlController(initialBeta, true, targetKl, horizon, minBeta, raiseHorizon);
    }

    public double beta() {
        return beta;
    }

    /** Updates beta after an iteration whose mean KL was {@code kl}, over {@code samples} episodes. */
    public void update(double kl, long samples) {
        if (!adaptive) return;
        double error = Math.max(-0.2, Math.min(0.2, kl / target - 1));
        beta = Math.max(minBeta, beta * (1 + error * samples / (error > 0 ? raiseHorizon : horizon)));
    }

    /** Restores beta from a checkpoint. */
    public void restore(double savedBeta) {
        if (!(savedBeta >= 0)) throw new IllegalArgumentException("saved KL coefficient must be >= 0, got " + savedBeta);
        this.beta = savedBeta;
    }

    public boolean isAdaptive() {
        return adaptive;
    }
}
