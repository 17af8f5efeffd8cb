package org.sparkrlhf.engine;

import java.io.Serializable;

/** Called on every rank after each update of a barrier stage; tests use it to cause a fault at a chosen rank, update and attempt. */
@FunctionalInterface
public interface RankHook extends Serializable {
    /** {@code update}: the replica's updates so far (applied or skipped); {@code attempt}: 0 on the stage's first run. */
    void afterUpdate(int rank, long update, int attempt);
}
