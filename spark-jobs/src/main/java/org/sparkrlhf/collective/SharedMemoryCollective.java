package org.sparkrlhf.collective;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * The collective for ranks on one host: they sum through a memory-mapped file (in
 * {@code /dev/shm} where there is one) instead of through TCP loopback, which copies every byte
 * several times more. The buffer goes in pieces; for each, every rank writes its piece into its
 * slot, then reduces its share of the piece from all slots into a common result, then copies the
 * whole result back (two barriers per piece, each a counter per rank in the file).
 *
 * <p>Every element is summed in exactly the order the TCP ring sums it (segment j of the buffer
 * as x_j + x_(j+1) + ... + x_(j-1)), so the two transports give the same bits and a run's result
 * does not depend on where its ranks ran. The TCP ring stays connected, carrying nothing, to
 * watch the neighbours: a rank that dies closes its connection and the others stop at once,
 * naming it, rather than waiting out the timeout.
 */
public final class SharedMemoryCollective implements Collective {
    /** Floats per piece: 2 MB, so that slots and result stay in the cache (measured best of 1-8 MB) and the file small (containers often cap /dev/shm at 64 MB). */
    static final int PIECE = 1 << 19;
    /** Small values per rank per operation; more go over TCP. */
    static final int SMALL = 1 << 13;
    private static final int LINE = 64; // one cache line per rank's counter and header
    /** Busy-waits before parking: short, since ranks may outnumber cores and a spinning rank takes a core from one still working. */
    private static final int SPINS = 200;
    private static final VarHandle LONGS = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());

    private final TcpRing tcp;
    private final int rank, size;
    private final long timeoutMillis;
    private final MappedByteBuffer file;
    private final FloatBuffer[] slots;
    private final DoubleBuffer[] smalls;
    private final FloatBuffer result;
    private final int smallBase;
    private long phase, sequence;
    /** Floats per tile of the reduction: partial sums and the next rank's values stay in the core's cache. */
    private static final int TILE = 1 << 12;
    private final float[] acc = new float[TILE], next = new float[TILE];

    private SharedMemoryCollective(TcpRing tcp, MappedByteBuffer file, long timeoutMillis) {
        this.tcp = tcp;
        this.rank = tcp.rank();
        this.size = tcp.size();
        this.timeoutMillis = timeoutMillis;
        this.file = file;
        this.smallBase = size * LINE;
        int dataBase = smallBase + size * SMALL * 8;
        smalls = new DoubleBuffer[size];
        slots = new FloatBuffer[size];
        for (int r = 0; r < size; r++) {
            smalls[r] = file.slice(smallBase + r * SMALL * 8, SMALL * 8).order(ByteOrder.nativeOrder()).asDoubleBuffer();
            slots[r] = file.slice(dataBase + r * PIECE * 4, PIECE * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
        }
        result = file.slice(dataBase + size * PIECE * 4, PIECE * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    /** Bytes of the shared file for {@code size} ranks. */
    static long fileBytes(int size) {
        return (long) size * LINE + (long) size * SMALL * 8 + (long) (size + 1) * PIECE * 4;
    }

    /**
     * Moves the ranks of {@code tcp}, which must all run on this host, onto shared memory: rank 0
     * creates the file, the others map it, then it is unlinked (the mappings live on). If any rank
     * cannot map it (no space, no shared directory), every rank keeps the TCP ring instead, said on
     * stderr: the result is the same, only slower.
     */
    public static Collective over(TcpRing tcp, String name, long timeoutMillis) {
        if (tcp.size() == 1) return tcp;
        Path dir = Files.isDirectory(Path.of("/dev/shm")) && Files.isWritable(Path.of("/dev/shm")) ? Path.of("/dev/shm")
                : Path.of(System.getProperty("java.io.tmpdir"));
        Path path = dir.resolve("spark-rlhf-" + name + ".ring");
        long bytes = fileBytes(tcp.size());
        MappedByteBuffer map = null;
        String problem = null;
        if (tcp.rank() == 0) {
            try {
                if (Files.getFileStore(dir).getUsableSpace() < 2 * bytes) throw new IOException(dir + " has less than twice the " + bytes + " bytes free");
                map = map(path, bytes, true);
            } catch (IOException | RuntimeException e) {
                problem = e.getMessage();
            }
        }
        boolean created = tcp.allReduceSum(new double[]{map != null || tcp.rank() != 0 ? 0 : 1})[0] == 0;
        if (created && tcp.rank() != 0) {
            try {
                map = map(path, bytes, false);
            } catch (IOException | RuntimeException e) {
                problem = e.getMessage();
            }
        }
        boolean everyone = created && tcp.allReduceSum(new double[]{map != null ? 0 : 1})[0] == 0;
        if (tcp.rank() == 0) {
            try {
                Files.deleteIfExists(path);
            } catch (IOException ignored) {
                // /dev/shm is cleared at reboot; the mappings do not need the name
            }
        }
        if (!everyone) {
            if (problem != null) System.err.printf("rank %d: shared memory at %s unavailable (%s); the ranks sum over TCP%n", tcp.rank(), path, problem);
            if (map != null) unmap(map);
            return tcp;
        }
        return new SharedMemoryCollective(tcp, map, timeoutMillis);
    }

    private static MappedByteBuffer map(Path path, long bytes, boolean create) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(path.toFile(), "rw"); FileChannel ch = f.getChannel()) {
            if (create) {
                f.setLength(bytes);
                for (long o = 0; o < bytes; o += 4096) f.getChannel().write(ByteBuffer.allocate(1), o); // allocate now: a full tmpfs fails here, not later
            } else if (f.length() != bytes) {
                throw new IOException(path + " holds " + f.length() + " bytes, not " + bytes);
            }
            return ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes);
        }
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public double[][] allReduceSum(float[] data, double[] small) {
        double[][] all = new double[size][];
        if (small != null && small.length > SMALL) { // rare: large "small" values go over TCP, then the data here
            all = tcp.allGather(small);
            allReduceSum(data, null);
            return all;
        }
        int n = data.length;
        long op = ++sequence;
        int header = rank * LINE;
        LONGS.set(file, header + 8, op);
        LONGS.set(file, header + 16, ((long) n << 32) | (small == null ? 0xFFFFFFFFL : small.length));
        if (small != null) smalls[rank].put(0, small);
        // at least one piece, so that even a data-less operation has both barriers (the small slots are reused next time)
        for (int p0 = 0; p0 < n || p0 == 0; p0 += PIECE) {
            int len = Math.min(PIECE, n - p0);
            slots[rank].put(0, data, p0, len);
            barrier();
            if (p0 == 0) {
                checkSameOperation(op, n, small);
                if (small != null)
                    for (int r = 0; r < size; r++) {
                        all[r] = new double[small.length];
                        smalls[r].get(0, all[r]);
                    }
            }
            reduceShare(p0, len, n);
            barrier();
            result.get(0, data, p0, len);
            if (n == 0) break;
        }
        return all;
    }

    /**
     * This rank's share of piece [p0, p0+len): every element summed in the ring's order for its
     * segment of the whole buffer, in tiles small enough that the partial sums stay in cache.
     */
    private void reduceShare(int p0, int len, int n) {
        int from = p0 + (int) ((long) len * rank / size), to = p0 + (int) ((long) len * (rank + 1) / size);
        while (from < to) {
            int seg = segmentOf(from, n), end = Math.min(Math.min(to, start(seg + 1, n)), from + TILE), m = end - from;
            slots[seg].get(from - p0, acc, 0, m);
            for (int k = 1; k < size; k++) {
                slots[(seg + k) % size].get(from - p0, next, 0, m);
                for (int i = 0; i < m; i++) acc[i] += next[i];
            }
            result.put(from - p0, acc, 0, m);
            from = end;
        }
    }

    /** Where segment {@code segment} of an {@code n}-value buffer begins, as the TCP ring cuts it. */
    private int start(int segment, int n) {
        return (int) ((long) n * segment / size);
    }

    private int segmentOf(int i, int n) {
        int seg = (int) ((long) i * size / n);
        while (start(seg + 1, n) <= i) seg++;
        while (start(seg, n) > i) seg--;
        return seg;
    }

    private void checkSameOperation(long op, int n, double[] small) {
        long mine = ((long) n << 32) | (small == null ? 0xFFFFFFFFL : small.length);
        for (int r = 0; r < size; r++) {
            long theirOp = (long) LONGS.get(file, r * LINE + 8), theirs = (long) LONGS.get(file, r * LINE + 16);
            if (theirOp != op || theirs != mine)
                throw new CollectiveException("rank " + rank + ": rank " + r + " is at collective #" + theirOp + " of " + (theirs >>> 32) + " values, this rank at #"
                        + op + " of " + n + ": the ranks diverged");
        }
    }

    /** Every rank's counter reaches this rank's next phase; waits spin briefly, then park, and watch for a dead neighbour and the timeout. */
    private void barrier() {
        long k = ++phase;
        LONGS.setRelease(file, rank * LINE, k);
        long deadline = System.currentTimeMillis() + timeoutMillis;
        int spins = 0;
        for (int r = 0; r < size; r++) {
            while ((long) LONGS.getAcquire(file, r * LINE) < k) {
                if (++spins < SPINS) {
                    Thread.onSpinWait();
                    continue;
                }
                if (spins < SPINS + 1000) Thread.yield(); // a rank still working may need this core
                else LockSupport.parkNanos(50_000); // a long wait (a slower rank still computing) costs little CPU
                if ((spins & 63) == 0) {
                    try {
                        tcp.checkPreviousAlive();
                    } catch (CollectiveException closed) {
                        // a neighbour that passed this barrier may finish and close before this rank, slowed down,
                        // looks again: only a rank still missing makes the closed connection a failure
                        if (missingCount(k) == 0) return;
                        throw closed;
                    }
                    if (Thread.currentThread().isInterrupted()) throw new CollectiveException("rank " + rank + ": interrupted in a collective");
                    if (System.currentTimeMillis() > deadline) throw new CollectiveException("rank " + rank + ": " + missing(k)
                            + " did not reach the collective within " + timeoutMillis / 1000 + " s (the collective timeout); stopped answering");
                }
            }
        }
    }

    private int missingCount(long k) {
        int late = 0;
        for (int r = 0; r < size; r++) if ((long) LONGS.getAcquire(file, r * LINE) < k) late++;
        return late;
    }

    private String missing(long k) {
        List<Integer> late = new ArrayList<>();
        for (int r = 0; r < size; r++) if ((long) LONGS.getAcquire(file, r * LINE) < k) late.add(r);
        return (late.size() == 1 ? "rank " : "ranks ") + late.toString().replaceAll("[\\[\\]]", "");
    }

    @Override
    public void close() {
        tcp.close();
        unmap(file);
    }

    /** Frees the mapping now rather than whenever the collector finds it (a stage per PPO iteration would pile them up). */
    private static void unmap(MappedByteBuffer map) {
        try {
            java.lang.reflect.Field f = Class.forName("sun.misc.Unsafe").getDeclaredField("theUnsafe");
            f.setAccessible(true);
            Object unsafe = f.get(null);
            unsafe.getClass().getMethod("invokeCleaner", ByteBuffer.class).invoke(unsafe, map);
        } catch (ReflectiveOperationException | RuntimeException e) {
            // left to the garbage collector
        }
    }
}
