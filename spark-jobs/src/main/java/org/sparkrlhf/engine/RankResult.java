package org.sparkrlhf.engine;

import java.io.Serializable;
import java.util.List;

/** What every rank returns from a stage: at least a digest of its parameters, which must match every other rank's. */
interface RankResult extends Serializable {
    int rank();

    String parameterDigest();

    /** Rank 0's result, once every rank's parameters are found identical to its own (replicas stay identical bit for bit). */
    static <R extends RankResult> R checkIdentical(List<R> results) {
        R first = results.stream().filter(r -> r.rank() == 0).findFirst().orElseThrow();
        for (R r : results)
            if (!r.parameterDigest().equals(first.parameterDigest()))
                throw new IllegalStateException("replicas diverged: rank " + r.rank() + " ended the stage with parameters " + r.parameterDigest()
                        + ", rank 0 with " + first.parameterDigest());
        return first;
    }
}
