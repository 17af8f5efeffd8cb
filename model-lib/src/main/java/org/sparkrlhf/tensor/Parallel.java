package org.sparkrlhf.tensor;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The one place that decides how many cores a model's kernels use. Work is split into contiguous
 * row ranges, one per thread; BLAS runs single-threaded inside each range. Owning the threads here
 * (rather than letting OpenBLAS start its own) keeps two pools from fighting over the same cores.
 *
 * <p>A training step issues hundreds of short parallel loops, so hand-off latency matters more
 * than anything: a ForkJoinPool took about 50 us per loop to wake its worker. Workers here spin
 * briefly between loops and park only when idle. A caller that finds the workers busy (another
 * thread's model, or a nested loop) simply runs its loop on its own thread.
 */
public final class Parallel {
    private Parallel() {}

    /** Body of a split loop: handles rows [lo, hi) as part number {@code part}. */
    @FunctionalInterface
    public interface Range {
        void run(int part, int lo, int hi);
    }

    private static volatile Workers workers;
    private static volatile int threads = 1;

    /** Threads for kernels and GEMMs in this JVM (1 = run everything on the caller's thread). */
    public static synchronized void setThreads(int n) {
        if (n < 1) throw new IllegalArgumentException("threads must be >= 1, got " + n);
        Blas.setBlasThreads(1);
        if (n == threads) return;
        if (workers != null) workers.stop();
        workers = n > 1 ? new Workers(n - 1) : null;
        threads = n;
    }

    public static int threads() {
        return threads;
    }

    /** How many parts a loop of {@code n} rows splits into (at least {@code minRows} rows per part). */
    public static int parts(int n, int minRows) {
        return Math.max(1, Math.min(threads, n / Math.max(1, minRows)));
    }

    /** Runs {@code body} over [0, n) in {@link #parts} contiguous parts; returns when all are done. */
    public static void forRange(int n, int minRows, Range body) {
        int parts = parts(n, minRows);
        Workers w = workers;
        if (parts == 1 || w == null || !w.lock.tryLock()) {
            // one part, or the workers are taken: the same split, run here in order
            for (int p = 0; p < parts; p++) body.run(p, bound(n, p, parts), bound(n, p + 1, parts));
            return;
        }
        try {
            w.run(n, parts, body);
        } finally {
            w.lock.unlock();
        }
    }

    static int bound(int n, int part, int parts) {
        return (int) ((long) n * part / parts);
    }

    /** Spinning worker threads; part 0 of every loop runs on the caller. */
    private static final class Workers {
        private static final long SPIN_NANOS = 200_000;
        final ReentrantLock lock = new ReentrantLock();
        private final Thread[] threads;
        private final AtomicInteger pending = new AtomicInteger();
        private volatile long epoch;
        private volatile boolean stopped;
        private volatile Throwable failure;
        private Range body;
        private int n, parts;

        Workers(int count) {
            threads = new Thread[count];
            for (int i = 0; i < count; i++) {
                int part = i + 1;
                threads[i] = new Thread(() -> loop(part), "rlhf-kernel-" + part);
                threads[i].setDaemon(true);
                threads[i].start();
            }
        }

        void run(int n, int parts, Range body) {
            this.body = body;
            this.n = n;
            this.parts = parts;
            failure = null;
            pending.set(parts - 1);
            epoch++; // volatile write publishes the fields above
            for (int i = 0; i < parts - 1; i++) LockSupport.unpark(threads[i]);
            body.run(0, 0, bound(n, 1, parts));
            while (pending.get() > 0) Thread.onSpinWait();
            Throwable f = failure;
            if (f instanceof RuntimeException re) throw re;
            if (f instanceof Error e) throw e;
            if (f != null) throw new IllegalStateException(f);
        }

        private void loop(int part) {
            long seen = 0;
            while (!stopped) {
                long e = epoch;
                if (e == seen) {
                    long idleSince = System.nanoTime();
                    while ((e = epoch) == seen && !stopped) {
                        if (System.nanoTime() - idleSince < SPIN_NANOS) Thread.onSpinWait();
                        else LockSupport.parkNanos(1_000_000);
                    }
                    if (stopped) return;
                }
                seen = e;
                if (part < parts) {
                    try {
                        body.run(part, bound(n, part, parts), bound(n, part + 1, parts));
                    } catch (Throwable t) {
                        failure = t;
                    } finally {
                        pending.decrementAndGet();
                    }
                }
            }
        }

        void stop() {
            stopped = true;
            for (Thread t : threads) LockSupport.unpark(t);
        }
    }
}
