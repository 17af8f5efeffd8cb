package org.sparkrlhf.engine;

import java.io.Serializable;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.zip.CRC32C;
import org.sparkrlhf.tensor.Tensor;

/** What every rank returns from a stage: at least a digest of its parameters, which must match every other rank's. */
interface RankResult extends Serializable {
    int rank();

    String parameterDigest();

    /** A short digest of a replica's parameters (CRC32C of their float bytes, and their count). */
    static String digest(Tensor t) {
        CRC32C crc = new CRC32C();
        crc.update(ByteBuffer.wrap(t.toFloatBytes()));
        return Long.toHexString(crc.getValue()) + "/" + t.size();
    }

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
