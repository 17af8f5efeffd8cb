package org.sparkrlhf.annotate;

import java.util.List;
import java.util.function.Consumer;
import java.util.function.IntSupplier;

/**
 * Keeps items ready ahead of the annotators: whenever fewer than {@code aheadItems} are untouched,
 * generates the next batch of prompts (on Spark, with {@code --policy}) on its own thread, stores
 * it, then hands it to the assignment. An annotator waits on the model only if they outrun it.
 */
final class ResponseStock implements Runnable {
    private final ResponseSource source;
    private final ItemStore store;
    private final AnnotationSettings settings;
    private final Consumer<List<Item>> ready;
    private final IntSupplier untouched;
    private final Object lock = new Object();
    private long next;
    private int batches;
    private volatile boolean stopped, generating;
    private volatile double lastSeconds = Double.NaN;
    private volatile String error;

    /** What the admin page shows of generation. */
    record Status(long prompts, long generated, int batches, boolean generating, double lastBatchSeconds, String error, String source) {}

    ResponseStock(ResponseSource source, ItemStore store, AnnotationSettings settings, long next, Consumer<List<Item>> ready, IntSupplier untouched) {
        this.source = source;
        this.store = store;
        this.settings = settings;
        this.next = next;
        this.ready = ready;
        this.untouched = untouched;
    }

    /** Asks for a look at the stock now (an item was just handed out). */
    void wake() {
        synchronized (lock) {
            lock.notifyAll();
        }
    }

    void stop() {
        stopped = true;
        wake();
    }

    /** Whether prompts remain to be generated. */
    boolean more() {
        return next < source.prompts();
    }

    Status status() {
        return new Status(source.prompts(), next, batches, generating, lastSeconds, error, source.describe());
    }

    @Override
    public void run() {
        while (!stopped) {
            try {
                if (more() && untouched.getAsInt() < settings.aheadItems()) {
                    generating = true;
                    long from = next, to = Math.min(source.prompts(), from + settings.batchPrompts());
                    long t0 = System.nanoTime();
                    List<Item> batch = source.batch(settings.round(), from, to, settings.responses());
                    store.save(from, batch);
                    lastSeconds = (System.nanoTime() - t0) / 1e9;
                    next = to;
                    batches++;
                    error = null;
                    ready.accept(batch);
                    continue;
                }
                generating = false;
                synchronized (lock) {
                    lock.wait(1000);
                }
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                // the round goes on with the items it has; the admin page shows why no more come
                error = "generating prompts from " + next + ": " + e;
                generating = false;
                System.err.println("annotate: " + error + " (retrying in 10 s)");
                synchronized (lock) {
                    try {
                        lock.wait(10_000);
                    } catch (InterruptedException ie) {
                        return;
                    }
                }
            }
        }
    }
}
