package org.sparkrlhf.engine;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * What each rank keeps in its executor JVM between stages (models, optimizers, buffers), for every
 * trainer: a stage that continues where the last one ended on the same executor starts without
 * fetching any state. A rank borrows its state for the stage and returns it only when the stage
 * succeeded, so state half-way through a failed stage is never reused.
 */
final class ResidentReplicas {
    private ResidentReplicas() {}

    /** A rank's kept state, named by where in the run it stands (data position, or PPO iteration). */
    interface Resident extends AutoCloseable {
        long position();

        /** Frees what the state holds outside the heap (a GPU replica's device memory). */
        @Override
        default void close() {}
    }

    private static final Map<String, Resident> IDLE = new ConcurrentHashMap<>();

    /**
     * Rank {@code rank}'s state at {@code position}: the resident one, brought there by
     * {@code reload} if it stands elsewhere; else a new one from {@code create}.
     */
    static <R extends Resident> R borrow(String runId, int rank, long position, Supplier<R> create, Consumer<R> reload) {
        R r = take(runId, rank);
        if (r == null) return create.get();
        if (r.position() != position) reload.accept(r);
        return r;
    }

    /** Rank {@code rank}'s resident state, wherever it stands, or null; the caller returns it with {@link #release} when its stage succeeds. */
    @SuppressWarnings("unchecked")
    static <R extends Resident> R take(String runId, int rank) {
        IDLE.entrySet().removeIf(e -> { // an executor serves one run at a time
            if (e.getKey().startsWith(runId + "/")) return false;
            e.getValue().close();
            return true;
        });
        return (R) IDLE.remove(runId + "/" + rank);
    }

    /** Forgets every rank's state: this executor then looks like a new one (tests use it). */
    static void clear() {
        IDLE.values().forEach(Resident::close);
        IDLE.clear();
    }

    static void release(String runId, int rank, Resident r) {
        IDLE.put(runId + "/" + rank, r);
    }
}
