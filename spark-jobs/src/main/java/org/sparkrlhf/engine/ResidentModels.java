package org.sparkrlhf.engine;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.tensor.DType;

/**
 * Models that stay alive in an executor JVM between steps, so a step costs a parameter copy
 * (when the version moved) rather than a rebuild. One model per concurrently running task, since
 * a model's workspace is single-threaded.
 */
final class ResidentModels {
    private ResidentModels() {}

    /** A model, its gradient buffer, and the parameter version it holds. */
    static final class Slot {
        final Gpt model;
        final Parameters grads;
        long version = -1;

        Slot(Gpt model) {
            this.model = model;
            this.grads = model.newGradients();
        }
    }

    private static final Map<String, ConcurrentLinkedQueue<Slot>> IDLE = new ConcurrentHashMap<>();

    /** A slot holding {@code snap}'s parameters; give it back with {@link #release}. */
    static Slot borrow(ParamSnapshot snap, int threads) {
        TaskSetup.begin(threads);
        IDLE.keySet().removeIf(run -> !run.equals(snap.runId())); // an executor serves one run at a time
        Slot s = IDLE.computeIfAbsent(snap.runId(), k -> new ConcurrentLinkedQueue<>()).poll();
        if (s == null || !s.model.config().equals(snap.config())) s = new Slot(Gpt.init(snap.config(), DType.FLOAT32, 0));
        if (s.version != snap.version()) {
            s.model.parameters().flat().copyFromFloatBytes(snap.values());
            s.version = snap.version();
        }
        return s;
    }

    static void release(String runId, Slot s) {
        IDLE.computeIfAbsent(runId, k -> new ConcurrentLinkedQueue<>()).add(s);
    }
}
