package org.sparkrlhf.optim;

/**
 * Learning rate by step: linear warmup from 0 to {@code peak} over {@code warmupSteps}, then
 * constant, linear or cosine decay to {@code minLr} at {@code totalSteps} (held there after).
 * Steps count from {@code startStep}, so a later round of training (which continues the optimizer's
 * step count) warms up and decays again over its own steps.
 */
public record LrSchedule(Kind kind, double peak, double minLr, long warmupSteps, long totalSteps, long startStep) implements java.io.Serializable {

    public enum Kind { CONSTANT, LINEAR, COSINE }

    public LrSchedule {
        if (kind == null) throw new IllegalArgumentException("schedule kind must be one of CONSTANT, LINEAR, COSINE");
        if (!(peak > 0)) throw new IllegalArgumentException("schedule peak learning rate must be > 0, got " + peak);
        if (!(minLr >= 0 && minLr <= peak)) throw new IllegalArgumentException("schedule minLr must be in [0, peak], got " + minLr);
        if (warmupSteps < 0) throw new IllegalArgumentException("schedule warmupSteps must be >= 0, got " + warmupSteps);
        if (kind != Kind.CONSTANT && totalSteps <= warmupSteps)
            throw new IllegalArgumentException("schedule totalSteps (" + totalSteps + ") must exceed warmupSteps (" + warmupSteps + ") for decay");
        if (startStep < 0) throw new IllegalArgumentException("schedule startStep must be >= 0, got " + startStep);
    }

    /** A schedule whose steps count from 0. */
    public LrSchedule(Kind kind, double peak, double minLr, long warmupSteps, long totalSteps) {
        this(kind, peak, minLr, warmupSteps, totalSteps, 0);
    }

    public static LrSchedule constant(double lr) {
        return new LrSchedule(Kind.CONSTANT, lr, lr, 0, 0);
    }

    /** The rate for optimizer step {@code optimizerStep} (0-based; steps before {@code startStep} get the first step's rate). */
    public double at(long optimizerStep) {
        long step = Math.max(0, optimizerStep - startStep);
        if (step < warmupSteps) return peak * (step + 1) / warmupSteps;
        if (kind == Kind.CONSTANT) return peak;
        double progress = Math.min(1.0, (double) (step - warmupSteps) / (totalSteps - warmupSteps));
        double shape = kind == Kind.LINEAR ? 1 - progress : 0.5 * (1 + Math.cos(Math.PI * progress));
        return minLr + (peak - minLr) * shape;
    }
}
