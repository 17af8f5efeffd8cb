package org.sparkrlhf.collective;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Function;

/**
 * A ring of TCP connections, each rank sending to the next and receiving from the previous. The
 * all-reduce is the bandwidth-optimal ring: the buffer is cut into one segment per rank; in N-1
 * reduce-scatter steps each segment travels once around the ring collecting every rank's values
 * (segment j is summed in the order j, j+1, ..., j-1), then N-1 all-gather steps copy the finished
 * segments to everyone, so each rank moves 2(N-1)/N of the buffer whatever N is. Segments go in
 * chunks; a sender thread writes while the rank receives and adds, and a chunk reduced in one step
 * is queued for the next at once, so sending, receiving and adding overlap. The send queue is
 * unbounded (at most a segment's copy), so a rank never blocks on sending: it only waits for its
 * previous rank, and waits cannot form a cycle.
 *
 * <p>Every packet carries a tag: a data packet its byte length, a keep-alive {@code -1} and the
 * rank its sender is waiting for. A rank blocked on its previous rank sends keep-alives onward, so
 * only the rank next to one that stopped answering times out, and its error names that rank.
 */
public final class TcpRing implements Collective {
    /** Floats per chunk: large enough to amortize a write, small enough to pipeline. */
    static final int CHUNK = 1 << 16;
    private static final int KEEPALIVE = -1;

    private record Packet(byte[] bytes, int length, int tag) {}

    private static final Packet STOP = new Packet(new byte[0], 0, 0);

    private final int rank, size;
    private final String prevName, nextName;
    private final Socket in, out;
    private final InputStream recv;
    private final DataOutputStream send;
    private final long timeoutMillis, keepAliveMillis;
    private final BlockingQueue<Packet> outbox = new LinkedBlockingQueue<>();
    private final ConcurrentLinkedQueue<byte[]> free = new ConcurrentLinkedQueue<>(); // chunk buffers the sender is done with
    private final Thread sender;
    private volatile Throwable sendFailure;
    private long queued; // packets queued by the rank's thread
    private volatile long sent; // packets the sender wrote (only it writes this field)
    private long sequence;
    private int upstreamWait = -1; // the rank the previous rank last said it waits for
    private final byte[] chunkBytes = new byte[CHUNK * 4];
    private final float[] chunkFloats = new float[CHUNK];

    private TcpRing(int rank, int size, Socket in, Socket out, String prevName, String nextName, long timeoutMillis) throws IOException {
        this.rank = rank;
        this.size = size;
        this.in = in;
        this.out = out;
        this.prevName = prevName;
        this.nextName = nextName;
        this.timeoutMillis = timeoutMillis;
        this.keepAliveMillis = Math.max(20, timeoutMillis / 5);
        this.recv = in == null ? null : new BufferedInputStream(in.getInputStream(), 1 << 20);
        this.send = out == null ? null : new DataOutputStream(new BufferedOutputStream(out.getOutputStream(), 1 << 20));
        if (in != null) in.setSoTimeout((int) keepAliveMillis);
        this.sender = new Thread(this::sendLoop, "ring-sender-" + rank);
        sender.setDaemon(true);
        if (size > 1) sender.start();
    }

    /**
     * Connects rank {@code rank} of {@code size} into a ring. Each rank listens on {@code host}, the
     * ranks exchange "host:port" through {@code allGather} (in Spark, the barrier's), then each
     * connects to the next rank and accepts the previous one. {@code timeout} bounds every wait.
     */
    public static TcpRing connect(int rank, int size, String host, Function<String, String[]> allGather, Duration timeout) {
        long t = timeout.toMillis();
        int waitMillis = (int) Math.min(Integer.MAX_VALUE, t);
        try {
            if (size == 1) { // nothing to connect; the rendezvous still happens, so whoever coordinates sees the rank arrive
                allGather.apply(host + ":0");
                return new TcpRing(0, 1, null, null, "", "", t);
            }
            try (ServerSocket server = new ServerSocket()) {
                server.setReceiveBufferSize(1 << 22);
                server.bind(new InetSocketAddress(InetAddress.getByName(host), 0));
                server.setSoTimeout(waitMillis);
                String[] addresses = allGather.apply(host + ":" + server.getLocalPort());
                if (addresses.length != size)
                    throw new CollectiveException("rank " + rank + ": the rendezvous gave " + addresses.length + " addresses for " + size + " ranks");
                int next = (rank + 1) % size, prev = (rank + size - 1) % size;
                Socket out = new Socket();
                out.setTcpNoDelay(true);
                out.setSendBufferSize(1 << 22);
                String nextAddress = addresses[next];
                int colon = nextAddress.lastIndexOf(':');
                out.connect(new InetSocketAddress(nextAddress.substring(0, colon), Integer.parseInt(nextAddress.substring(colon + 1))), waitMillis);
                new DataOutputStream(out.getOutputStream()).writeInt(rank); // who is calling
                Socket in;
                try {
                    in = server.accept();
                } catch (SocketTimeoutException e) {
                    out.close();
                    throw new CollectiveException("rank " + rank + ": rank " + prev + " (" + addresses[prev] + ") did not connect within " + t / 1000 + " s");
                }
                in.setSoTimeout(waitMillis);
                int caller = new DataInputStream(in.getInputStream()).readInt();
                if (caller != prev) throw new CollectiveException("rank " + rank + ": expected rank " + prev + " to connect, rank " + caller + " did");
                return new TcpRing(rank, size, in, out, "rank " + prev + " (" + addresses[prev] + ")", "rank " + next + " (" + nextAddress + ")", t);
            }
        } catch (IOException e) {
            throw new CollectiveException("rank " + rank + ": cannot join the ring: " + e.getMessage(), e);
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
    public void allReduceSum(float[] data) {
        if (size == 1) return;
        int n = data.length;
        exchangeHeader(n);
        // reduce-scatter: at step s rank r sends segment r-s and receives segment r-s-1, adding its own values after the partial sum
        for (int o = start(rank, n), hi = start(rank + 1, n); o < hi; o += CHUNK) queue(data, o, Math.min(CHUNK, hi - o));
        for (int s = 0; s < size - 1; s++) {
            int seg = Math.floorMod(rank - s - 1, size);
            for (int o = start(seg, n), hi = start(seg + 1, n); o < hi; o += CHUNK) {
                int len = Math.min(CHUNK, hi - o);
                receive(len);
                for (int i = 0; i < len; i++) data[o + i] = chunkFloats[i] + data[o + i];
                queue(data, o, len); // the next reduce-scatter step's send, or (after the last) the first all-gather step's
            }
        }
        // all-gather: at step s rank r receives the finished segment r-s and passes it on
        for (int s = 0; s < size - 1; s++) {
            int seg = Math.floorMod(rank - s, size);
            for (int o = start(seg, n), hi = start(seg + 1, n); o < hi; o += CHUNK) {
                int len = Math.min(CHUNK, hi - o);
                receive(len);
                System.arraycopy(chunkFloats, 0, data, o, len);
                if (s < size - 2) queue(data, o, len);
            }
        }
        drain();
    }

    @Override
    public double[][] allGather(double[] mine) {
        double[][] all = new double[size][];
        all[rank] = mine.clone();
        if (size == 1) return all;
        exchangeHeader(mine.length);
        queueDoubles(mine);
        for (int s = 0; s < size - 1; s++) {
            int from = Math.floorMod(rank - s - 1, size);
            all[from] = receiveDoubles(mine.length);
            if (s < size - 2) queueDoubles(all[from]);
        }
        drain();
        return all;
    }

    /** Where segment {@code segment} of an {@code n}-value buffer begins (segment {@code size} is the end). */
    private int start(int segment, int n) {
        return (int) ((long) n * segment / size);
    }

    /** Each operation opens with its sequence number and length, so ranks that diverged fail at once rather than mix data. */
    private void exchangeHeader(int length) {
        long op = ++sequence;
        ByteBuffer b = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(op).putInt(length);
        put(new Packet(b.array(), 12, 12));
        byte[] h = new byte[12];
        readPacket(h, 12);
        ByteBuffer got = ByteBuffer.wrap(h).order(ByteOrder.LITTLE_ENDIAN);
        long theirOp = got.getLong();
        int theirLength = got.getInt();
        if (theirOp != op || theirLength != length)
            throw new CollectiveException("rank " + rank + ": " + prevName + " is at collective #" + theirOp + " of " + theirLength
                    + " values, this rank at #" + op + " of " + length + ": the ranks diverged");
    }

    /** Copies now (the array changes later) and hands the bytes to the sender thread. */
    private void queue(float[] data, int offset, int len) {
        byte[] b = free.poll();
        if (b == null) b = new byte[CHUNK * 4];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(data, offset, len);
        put(new Packet(b, len * 4, len * 4));
    }

    private void queueDoubles(double[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asDoubleBuffer().put(v);
        put(new Packet(b.array(), b.capacity(), b.capacity()));
    }

    private void put(Packet p) {
        failIfSenderFailed();
        queued++;
        outbox.add(p);
    }

    private void receive(int floats) {
        readPacket(chunkBytes, floats * 4);
        ByteBuffer.wrap(chunkBytes, 0, floats * 4).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(chunkFloats, 0, floats);
    }

    private double[] receiveDoubles(int count) {
        byte[] b = new byte[count * 8];
        readPacket(b, b.length);
        double[] v = new double[count];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(v);
        return v;
    }

    /** Reads the next data packet of {@code len} bytes, passing over (and answering) keep-alives. */
    private void readPacket(byte[] into, int len) {
        byte[] tag = new byte[4];
        while (true) {
            readFully(tag, 4);
            int t = ByteBuffer.wrap(tag).getInt();
            if (t == KEEPALIVE) {
                readFully(tag, 4);
                upstreamWait = ByteBuffer.wrap(tag).getInt();
                continue;
            }
            if (t != len) throw new CollectiveException("rank " + rank + ": " + prevName + " sent a packet of " + t + " bytes where " + len + " were due");
            readFully(into, len);
            return;
        }
    }

    /** Reads exactly {@code len} bytes; while it waits it tells the next rank so, and it gives up after the timeout without progress. */
    private void readFully(byte[] into, int len) {
        int got = 0;
        long lastProgress = System.currentTimeMillis();
        while (got < len) {
            try {
                int k = recv.read(into, got, len - got);
                if (k < 0)
                    throw new CollectiveException("rank " + rank + ": " + prevName + " closed its connection (its task failed or its executor was lost)"
                            + (upstreamWait >= 0 ? "; it was waiting for rank " + upstreamWait : ""));
                got += k;
                lastProgress = System.currentTimeMillis();
            } catch (SocketTimeoutException e) {
                long waited = System.currentTimeMillis() - lastProgress;
                if (waited >= timeoutMillis)
                    throw new CollectiveException("rank " + rank + ": " + prevName + " sent nothing for " + waited / 1000
                            + " s (the collective timeout); it stopped answering", e);
                keepAlive();
            } catch (IOException e) {
                throw new CollectiveException("rank " + rank + ": receiving from " + prevName + " failed: " + e.getMessage(), e);
            }
        }
        failIfSenderFailed();
    }

    private void keepAlive() {
        ByteBuffer b = ByteBuffer.allocate(4);
        b.putInt((rank + size - 1) % size);
        put(new Packet(b.array(), 4, KEEPALIVE));
    }

    /** Waits until the sender has written (and flushed) everything queued, so a failure is this operation's. */
    private void drain() {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (sent != queued) {
            failIfSenderFailed();
            if (System.currentTimeMillis() > deadline)
                throw new CollectiveException("rank " + rank + ": " + nextName + " stopped reading for " + timeoutMillis / 1000 + " s (the collective timeout)");
            Thread.onSpinWait();
        }
        failIfSenderFailed();
    }

    private void failIfSenderFailed() {
        Throwable f = sendFailure;
        if (f != null) throw new CollectiveException("rank " + rank + ": sending to " + nextName + " failed: " + f.getMessage(), f);
    }

    /** Writes queued packets in order; flushes whenever the queue runs dry, so the next rank never waits on a buffer. */
    private void sendLoop() {
        try {
            while (true) {
                Packet p = outbox.take();
                if (p == STOP) return;
                send.writeInt(p.tag());
                send.write(p.bytes(), 0, p.length());
                if (p.bytes().length == CHUNK * 4) free.offer(p.bytes());
                if (outbox.isEmpty()) send.flush();
                sent++;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException | RuntimeException e) {
            sendFailure = e;
        }
    }

    @Override
    public void close() {
        if (size == 1) return;
        outbox.add(STOP);
        sender.interrupt();
        for (Socket s : new Socket[]{in, out})
            try {
                s.close();
            } catch (IOException ignored) {
                // closing: nothing left to lose
            }
    }
}
