package org.sparkrlhf.engine;

import java.io.Serializable;
import java.time.Duration;

/**
 * How barrier stages run, whatever they train.
 *
 * @param threadsPerTask    kernel threads per rank (spark.task.cpus)
 * @param collectiveTimeout how long a rank waits for another before the stage fails naming it
 * @param stageRetries      how often a failed stage is run again before the run stops
 * @param sharedMemory      ranks that all run on one host sum through shared memory (the same bits as the TCP ring, faster)
 * @param hook              null, or a test's fault injection
 */
public record StageSettings(int threadsPerTask, Duration collectiveTimeout, int stageRetries, boolean sharedMemory, RankHook hook)
        implements Serializable {
    public StageSettings {
        if (threadsPerTask < 1) throw new IllegalArgumentException("threadsPerTask must be >= 1, got " + threadsPerTask);
        if (stageRetries < 0) throw new IllegalArgumentException("stageRetries must be >= 0, got " + stageRetries);
    }
}
