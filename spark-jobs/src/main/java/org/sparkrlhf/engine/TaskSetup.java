package org.sparkrlhf.engine;

import java.util.OptionalInt;
import org.sparkrlhf.tensor.Parallel;

/** What every executor task that computes does first: set its model threads, and find the GPU Spark gave it (if any). */
public final class TaskSetup {
    private TaskSetup() {}

    /** Returns the task's GPU as a CUDA ordinal, if Spark assigned one. */
    public static OptionalInt begin(int threads) {
        Parallel.setThreads(threads);
        return GpuBinding.bindTask();
    }
}
