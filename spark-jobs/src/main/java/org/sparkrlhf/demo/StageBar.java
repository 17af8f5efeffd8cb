package org.sparkrlhf.demo;

import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.sparkrlhf.jobs.Progress;

/**
 * The progress bar of a demo stage that is not a training loop (the training jobs print their
 * own): work units done out of those known, with rate and time left. Units are either the
 * stage's own steps, or Spark tasks, counted by a listener while the stage's Spark jobs run.
 */
public final class StageBar implements AutoCloseable {
    /** Lines at most this often: a stage of a few seconds prints two or three. */
    private static final long PRINT_EVERY_NANOS = 3_000_000_000L;

    private final String unit;
    private final long startNanos = System.nanoTime();
    private long total, done, lastPrint = startNanos, printedDone = -1, printedTotal = -1;
    private SparkContext sc;
    private SparkListener listener;

    private StageBar(String unit, long total) {
        this.unit = unit;
        this.total = total;
    }

    /** A bar over {@code total} named steps of driver work; call {@link #step} after each. */
    public static StageBar steps(long total) {
        return new StageBar("steps", total);
    }

    /** A bar over the Spark tasks submitted until {@link #close}. */
    public static StageBar tasks(SparkContext sc) {
        StageBar bar = new StageBar("tasks", 0);
        bar.sc = sc;
        bar.listener = new SparkListener() {
            @Override
            public void onStageSubmitted(SparkListenerStageSubmitted e) {
                bar.add(e.stageInfo().numTasks(), 0, null);
            }

            @Override
            public void onTaskEnd(SparkListenerTaskEnd e) {
                if (e.taskInfo().successful()) bar.add(0, 1, null);
            }
        };
        sc.addSparkListener(bar.listener);
        return bar;
    }

    /** One step of driver work finished; {@code next} says what comes next. */
    void step(String next) {
        add(0, 1, next);
    }

    private synchronized void add(long moreTotal, long moreDone, String next) {
        total += moreTotal;
        done += moreDone;
        long now = System.nanoTime();
        if (next != null || now - lastPrint >= PRINT_EVERY_NANOS) {
            lastPrint = now;
            print(next);
        }
    }

    private void print(String next) {
        printedDone = done;
        printedTotal = total;
        double elapsed = (System.nanoTime() - startNanos) / 1e9;
        String text = Progress.bar(done, total) + String.format(" %d/%d %s  %.1f/s", done, total, unit, done / Math.max(elapsed, 1e-9));
        if (done > 0 && done < total) {
            long eta = Math.round(elapsed / done * (total - done));
            text += String.format("  ETA %dm%02ds", eta / 60, eta % 60);
        }
        System.err.println("  " + text + (next == null ? "" : "  " + next));
    }

    /** Stops counting and prints the final line. Task-end events arrive asynchronously: waits briefly for the last ones. */
    @Override
    public void close() {
        if (sc != null) {
            try {
                for (int i = 0; i < 40 && done() < total(); i++) Thread.sleep(25);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            sc.removeSparkListener(listener);
        }
        synchronized (this) {
            if (done != printedDone || total != printedTotal) print(null);
        }
    }

    synchronized long done() {
        return done;
    }

    synchronized long total() {
        return total;
    }
}
