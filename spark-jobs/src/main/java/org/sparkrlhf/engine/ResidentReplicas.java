package org.sparkrlhf.engine;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.optim.AdamW;
import org.sparkrlhf.tensor.DType;

/**
 * Each rank's model and optimizer replica, kept in its executor JVM between stages: a stage that
 * continues where the last one ended on the same executor starts without fetching any state.
 * A rank borrows its replica for the stage and returns it only when the stage succeeded, so a
 * replica half-way through a failed stage is never reused.
 */
final class ResidentReplicas {
    private ResidentReplicas() {}

    /** A rank's replica: model, gradient buffer, optimizer, the skip counters, and where in the run it stands. */
    static final class Replica {
        final Gpt model;
        final Parameters grads;
        final AdamW optimizer;
        final float[] buffer; // the gradient as the collective sums it
        long skippedTotal, badInARow;

        Replica(StageStart s) {
            model = Gpt.init(s.config(), DType.FLOAT32, 0);
            grads = model.newGradients();
            optimizer = new AdamW(s.optimizer(), model.parameters().layout(), DType.FLOAT32);
            buffer = new float[model.parameters().flat().size()];
            load(s);
        }

        void load(StageStart s) {
            s.loadInto(model, optimizer);
            skippedTotal = s.skippedTotal();
            badInARow = s.badInARow();
        }

        /** The data cursor: optimizer steps plus skipped steps (a skipped step consumed its batch too). */
        long position() {
            return optimizer.stepCount() + skippedTotal;
        }

        StageStart snapshot(String runId) {
            return StageStart.of(runId, model, optimizer, skippedTotal, badInARow);
        }
    }

    private static final Map<String, Replica> IDLE = new ConcurrentHashMap<>();

    /** Rank {@code rank}'s replica at {@code position}: the resident one if it is there, else one loaded from {@code start}. */
    static Replica borrow(String runId, int rank, long position, Supplier<StageStart> start) {
        IDLE.keySet().removeIf(k -> !k.startsWith(runId + "/")); // an executor serves one run at a time
        Replica r = IDLE.remove(runId + "/" + rank);
        if (r == null) return new Replica(start.get());
        if (r.position() != position) r.load(start.get());
        return r;
    }

    static void release(String runId, int rank, Replica r) {
        IDLE.put(runId + "/" + rank, r);
    }
}
