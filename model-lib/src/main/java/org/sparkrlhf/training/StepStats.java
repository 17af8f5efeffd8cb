package org.sparkrlhf.training;

import java.io.Serializable;

/**
 * What a shard's gradient computation measured: summed loss, the count it is a sum over (tokens
 * for LM training, pairs for reward training), correctly ordered pairs (NaN where there are no
 * pairs), and the compute time (the slowest shard's, once combined).
 */
public record StepStats(double lossSum, double count, double correct, long computeNanos) implements Serializable {
    public static final StepStats ZERO = new StepStats(0, 0, 0, 0);

    public StepStats plus(StepStats o) {
        return new StepStats(lossSum + o.lossSum, count + o.count, correct + o.correct, Math.max(computeNanos, o.computeNanos));
    }

    public double meanLoss() {
        return count > 0 ? lossSum / count : Double.NaN;
    }
}
