package org.sparkrlhf.cuda;

import static org.bytedeco.cuda.global.nccl.*;

import org.bytedeco.cuda.nccl.ncclComm;
import org.bytedeco.cuda.nccl.ncclUniqueId;

/**
 * One rank's NCCL communicator: the collective transport between GPU ranks. Rank 0 makes the
 * unique id ({@link #newUniqueId}); the ranks pass its bytes to each other through the barrier
 * stage's rendezvous (as the CPU ring passes addresses), then each joins with its rank. Sums run on
 * device memory in place, in the device's stream order.
 */
public final class NcclComm implements AutoCloseable {
    /** Bytes of an ncclUniqueId (NCCL_UNIQUE_ID_BYTES). */
    public static final int ID_BYTES = 128;

    private final ncclComm comm = new ncclComm();
    private final int ranks, rank;

    /** Joins the communicator {@code id} as {@code rank} of {@code ranks}; blocks until every rank has joined. */
    public NcclComm(CudaDevice device, byte[] id, int ranks, int rank) {
        CudaLibraries.loadNccl();
        if (id.length != ID_BYTES) throw new IllegalArgumentException("an NCCL id has " + ID_BYTES + " bytes, got " + id.length);
        if (rank < 0 || rank >= ranks) throw new IllegalArgumentException("rank " + rank + " outside [0, " + ranks + ")");
        this.ranks = ranks;
        this.rank = rank;
        ncclUniqueId uid = new ncclUniqueId();
        for (int i = 0; i < ID_BYTES; i++) uid.internal(i, id[i]);
        check(ncclCommInitRank(comm, ranks, uid, rank), "ncclCommInitRank(rank " + rank + " of " + ranks + " on " + device.name() + ")");
    }

    /** A fresh id for a new communicator (rank 0 makes it). */
    public static byte[] newUniqueId() {
        CudaLibraries.loadNccl();
        ncclUniqueId uid = new ncclUniqueId();
        check(ncclGetUniqueId(uid), "ncclGetUniqueId");
        byte[] out = new byte[ID_BYTES];
        for (int i = 0; i < ID_BYTES; i++) out[i] = uid.internal(i);
        return out;
    }

    /** NCCL's version as major.minor.patch. */
    public static String version() {
        CudaLibraries.loadNccl();
        int[] v = {0};
        check(ncclGetVersion(v), "ncclGetVersion");
        return v[0] / 10000 + "." + (v[0] / 100) % 100 + "." + v[0] % 100;
    }

    public int ranks() {
        return ranks;
    }

    public int rank() {
        return rank;
    }

    /** buffer[0:count] := the sum over ranks, in place (float32). */
    public void allReduceSum(DeviceMemory buffer, long count) {
        if (count > buffer.length()) throw new IndexOutOfBoundsException(count + " elements > buffer of " + buffer.length());
        CudaDevice.Address p = new CudaDevice.Address(buffer.address());
        check(ncclAllReduce(p, p, count, ncclFloat32, ncclSum, comm, null), "ncclAllReduce(" + count + " floats)");
    }

    private static void check(int rc, String what) {
        if (rc != ncclSuccess) throw new CudaException(what + " failed: " + ncclGetErrorString(rc).getString() + " (ncclResult " + rc + ")");
    }

    @Override
    public void close() {
        ncclCommDestroy(comm);
    }
}
