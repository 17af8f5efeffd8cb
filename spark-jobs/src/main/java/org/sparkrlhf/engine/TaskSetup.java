package org.sparkrlhf.engine;

import org.sparkrlhf.tensor.Parallel;

/** What every executor task that computes does first: set its model threads, and bind the GPU Spark gave it (if any). */
public final class TaskSetup {
    private TaskSetup() {}

    public static void begin(int threads) {
        Parallel.setThreads(threads);
        GpuBinding.bindTask();
    }
}
