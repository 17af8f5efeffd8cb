package org.sparkrlhf.jobs;

/** One readable line per report: step, loss, rate and time left. */
public final class Progress {
    private final long total;
    private final long startNanos = System.nanoTime();
    private final long startStep;

    Progress(long startStep, long total) {
        this.startStep = startStep;
        this.total = total;
    }

    String line(String stage, long step, double loss, double tokensPerSecond) {
        return line(stage, step, "loss", loss, tokensPerSecond);
    }

    /** As above, with the reported quantity named (PPO reports the reward score, not a loss). */
    String line(String stage, long step, String quantity, double value, double tokensPerSecond) {
        double elapsed = (System.nanoTime() - startNanos) / 1e9;
        double perStep = step > startStep ? elapsed / (step - startStep) : 0;
        long eta = Math.round(perStep * (total - step));
        return String.format("%s %s step %d/%d  %s %.4f  %.0f tok/s  ETA %dm%02ds", stage,
                bar(step, total), step, total, quantity, value, tokensPerSecond, eta / 60, eta % 60);
    }

    /** A 20-character bar, {@code [####........]}, for {@code done} of {@code total}. */
    public static String bar(long done, long total) {
        int width = 20, filled = (int) Math.min(width, width * Math.max(0, done) / Math.max(1, total));
        return "[" + "#".repeat(filled) + ".".repeat(width - filled) + "]";
    }
}
