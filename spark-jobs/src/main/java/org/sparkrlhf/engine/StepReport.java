package org.sparkrlhf.engine;

/**
 * What one optimizer step did and cost.
 *
 * @param step            the optimizer step number this report ends (1-based once applied)
 * @param loss            mean loss over the step's {@code count} (tokens or pairs)
 * @param accuracy        fraction of correctly ordered pairs (reward training), else NaN
 * @param gradNorm        global gradient norm before clipping
 * @param lr              learning rate used
 * @param skipped         true when the gradient was not finite and no update was applied
 * @param wallNanos       the step's wall time on the driver
 * @param slowestTaskNanos the slowest shard's compute time
 */
public record StepReport(long step, double loss, double count, double accuracy, double gradNorm, double lr, boolean skipped,
                         long wallNanos, long slowestTaskNanos) implements java.io.Serializable {

    /** Share of the step that was not the slowest shard's compute: scheduling, transfers, summing, the update. */
    public double sparkOverheadFraction() {
        return wallNanos > 0 ? Math.max(0, wallNanos - slowestTaskNanos) / (double) wallNanos : 0;
    }
}
