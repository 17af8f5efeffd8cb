package org.sparkrlhf.collective;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
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
 * <p>Data moves between the caller's arrays and direct buffers that the socket channels read and
 * write without further copies; a received chunk is added straight out of its buffer.
 *
 * <p>Every packet carries a tag: a data packet its byte length, a keep-alive {@code -1} and the
 * rank its sender is waiting for. A rank blocked on its previous rank sends keep-alives onward, so
 * only the rank next to one that stopped answering times out, and its error names that rank.
 */
public final class TcpRing implements Collective {
    /** Floats per chunk: large enough to amortize a write, small enough to pipeline. */
    static final int CHUNK = 1 << 18;
    private static final int KEEPALIVE = -1;
    /** What the sender writes: a ready buffer, or a region of the caller's array that it copies out itself. */
    private record Packet(ByteBuffer bytes, float[] data, int offset, int length) {}

    private static final Packet STOP = new Packet(null, null, 0, 0);

    private final int rank, size;
    private final String prevName, nextName;
    private final SocketChannel in, out;
    private final Selector readable;
    private final long timeoutMillis, keepAliveMillis;
    private final BlockingQueue<Packet> outbox = new LinkedBlockingQueue<>();
    private final ByteBuffer sendChunk = direct(4 + CHUNK * 4); // the sender's own
    private final Thread sender;
    private volatile Throwable sendFailure;
    private long queued; // packets queued by the rank's thread
    private volatile long sent; // packets the sender wrote (only it writes this field)
    private int upstreamWait = -1; // the rank the previous rank last said it waits for
    private final ByteBuffer tag = direct(4), chunk = direct(CHUNK * 4);
    private final FloatBuffer chunkFloats = chunk.asFloatBuffer();

    private TcpRing(int rank, int size, SocketChannel in, SocketChannel out, String prevName, String nextName, long timeoutMillis) throws IOException {
        this.rank = rank;
        this.size = size;
        this.in = in;
        this.out = out;
        this.prevName = prevName;
        this.nextName = nextName;
        this.timeoutMillis = timeoutMillis;
        this.keepAliveMillis = Math.max(20, timeoutMillis / 5);
        if (in != null) {
            in.configureBlocking(false);
            readable = Selector.open();
            in.register(readable, SelectionKey.OP_READ);
        } else {
            readable = null;
        }
        this.sender = new Thread(this::sendLoop, "ring-sender-" + rank);
        sender.setDaemon(true);
        if (size > 1) sender.start();
    }

    private static ByteBuffer direct(int bytes) {
        return ByteBuffer.allocateDirect(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Connects rank {@code rank} of {@code size} into a ring. Each rank listens on {@code host}, the
     * ranks exchange "host:port" through {@code allGather} (a rendezvous the caller provides), then
     * each connects to the next rank and accepts the previous one. {@code timeout} bounds every wait.
     */
    public static TcpRing connect(int rank, int size, String host, Function<String, String[]> allGather, Duration timeout) {
        long t = timeout.toMillis();
        try {
            if (size == 1) { // nothing to connect; the rendezvous still happens, so whoever coordinates sees the rank arrive
                allGather.apply(host + ":0");
                return new TcpRing(0, 1, null, null, "", "", t);
            }
            try (ServerSocketChannel server = ServerSocketChannel.open()) {
                server.setOption(StandardSocketOptions.SO_RCVBUF, 1 << 22);
                server.bind(new InetSocketAddress(InetAddress.getByName(host), 0));
                String[] addresses = allGather.apply(host + ":" + ((InetSocketAddress) server.getLocalAddress()).getPort());
                if (addresses.length != size)
                    throw new CollectiveException("rank " + rank + ": the rendezvous gave " + addresses.length + " addresses for " + size + " ranks");
                int next = (rank + 1) % size, prev = (rank + size - 1) % size;
                String nextAddress = addresses[next];
                int colon = nextAddress.lastIndexOf(':');
                SocketChannel out = SocketChannel.open();
                out.setOption(StandardSocketOptions.TCP_NODELAY, true);
                out.setOption(StandardSocketOptions.SO_SNDBUF, 1 << 22);
                out.socket().connect(new InetSocketAddress(nextAddress.substring(0, colon), Integer.parseInt(nextAddress.substring(colon + 1))),
                        (int) Math.min(Integer.MAX_VALUE, t));
                ByteBuffer hello = ByteBuffer.allocate(4).putInt(0, rank); // who is calling
                while (hello.hasRemaining()) out.write(hello);
                SocketChannel in = accept(server, t);
                if (in == null) {
                    out.close();
                    throw new CollectiveException("rank " + rank + ": rank " + prev + " (" + addresses[prev] + ") did not connect within " + t / 1000 + " s");
                }
                in.setOption(StandardSocketOptions.SO_RCVBUF, 1 << 22);
                in.socket().setSoTimeout((int) Math.min(Integer.MAX_VALUE, t));
                int caller = new java.io.DataInputStream(in.socket().getInputStream()).readInt();
                if (caller != prev) throw new CollectiveException("rank " + rank + ": expected rank " + prev + " to connect, rank " + caller + " did");
                return new TcpRing(rank, size, in, out, "rank " + prev + " (" + addresses[prev] + ")", "rank " + next + " (" + nextAddress + ")", t);
            }
        } catch (IOException e) {
            throw new CollectiveException("rank " + rank + ": cannot join the ring: " + e.getMessage(), e);
        }
    }

    /** The previous rank's connection, or null when none came within {@code millis}. */
    private static SocketChannel accept(ServerSocketChannel server, long millis) throws IOException {
        server.configureBlocking(false);
        try (Selector s = Selector.open()) {
            server.register(s, SelectionKey.OP_ACCEPT);
            if (s.select(Math.max(1, millis)) == 0) return null;
            SocketChannel c = server.accept();
            c.configureBlocking(true);
            return c;
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

    /** The ring all-reduce; {@code small} (if any) rides along, one hop per reduce-scatter step. */
    @Override
    public double[][] allReduceSum(float[] data, double[] small) {
        double[][] all = new double[size][];
        if (small != null) all[rank] = small.clone();
        if (size == 1) return all;
        int n = data.length, chunk = CHUNK;
        exchangeHeader(n, small == null ? -1 : small.length);
        // reduce-scatter: at step s rank r sends segment r-s and receives segment r-s-1, adding its own values after the partial sum
        if (small != null) queueDoubles(small);
        for (int o = start(rank, n), hi = start(rank + 1, n); o < hi; o += chunk) queue(data, o, Math.min(chunk, hi - o));
        for (int s = 0; s < size - 1; s++) {
            if (small != null) { // the small values of rank r-s-1, passed on first thing in the next step
                int from = Math.floorMod(rank - s - 1, size);
                all[from] = receiveDoubles(small.length);
                if (s < size - 2) queueDoubles(all[from]);
            }
            int seg = Math.floorMod(rank - s - 1, size);
            for (int o = start(seg, n), hi = start(seg + 1, n); o < hi; o += chunk) {
                int len = Math.min(chunk, hi - o);
                receive(len);
                for (int i = 0; i < len; i++) data[o + i] = chunkFloats.get(i) + data[o + i];
                queue(data, o, len); // the next reduce-scatter step's send, or (after the last) the first all-gather step's
            }
        }
        // all-gather: at step s rank r receives the finished segment r-s and passes it on
        for (int s = 0; s < size - 1; s++) {
            int seg = Math.floorMod(rank - s, size);
            for (int o = start(seg, n), hi = start(seg + 1, n); o < hi; o += chunk) {
                int len = Math.min(chunk, hi - o);
                receive(len);
                chunkFloats.get(0, data, o, len);
                if (s < size - 2) queue(data, o, len);
            }
        }
        drain();
        return all;
    }

    /** Where segment {@code segment} of an {@code n}-value buffer begins (segment {@code size} is the end). */
    private int start(int segment, int n) {
        return (int) ((long) n * segment / size);
    }

    private long sequence;

    /** Each operation opens with its sequence number and sizes, so ranks that diverged fail at once rather than mix data. */
    private void exchangeHeader(int length, int small) {
        long op = ++sequence;
        ByteBuffer b = direct(20);
        b.putInt(16).putLong(op).putInt(length).putInt(small).flip();
        put(new Packet(b, null, 0, 0));
        readPacket(16);
        long theirOp = chunk.getLong(0);
        int theirLength = chunk.getInt(8), theirSmall = chunk.getInt(12);
        if (theirOp != op || theirLength != length || theirSmall != small)
            throw new CollectiveException("rank " + rank + ": " + prevName + " is at collective #" + theirOp + " of " + theirLength + "+" + theirSmall
                    + " values, this rank at #" + op + " of " + length + "+" + small + ": the ranks diverged");
    }

    private double[] receiveDoubles(int count) {
        readPacket(count * 8);
        double[] v = new double[count];
        chunk.asDoubleBuffer().get(0, v);
        return v;
    }

    /**
     * Hands a region of {@code data} to the sender, which copies it out when it writes. The region
     * does not change before then: a rank overwrites a segment only when its finished sum comes
     * back around the ring, which needs the next rank to have received this send first, and
     * {@link #drain} holds the caller until everything is written.
     */
    private void queue(float[] data, int offset, int len) {
        put(new Packet(null, data, offset, len));
    }

    private void queueDoubles(double[] v) {
        ByteBuffer b = direct(4 + v.length * 8);
        b.putInt(v.length * 8);
        for (double d : v) b.putDouble(d);
        b.flip();
        put(new Packet(b, null, 0, 0));
    }

    private void put(Packet packet) {
        failIfSenderFailed();
        queued++;
        outbox.add(packet);
    }

    private void receive(int floats) {
        readPacket(floats * 4);
    }

    /** Reads the next data packet of {@code len} bytes into {@code chunk}, passing over (and answering) keep-alives. */
    private void readPacket(int len) {
        while (true) {
            tag.clear();
            readFully(tag);
            int t = tag.getInt(0);
            if (t == KEEPALIVE) {
                tag.clear();
                readFully(tag);
                upstreamWait = tag.getInt(0);
                continue;
            }
            if (t != len) throw new CollectiveException("rank " + rank + ": " + prevName + " sent a packet of " + t + " bytes where " + len + " were due");
            chunk.clear().limit(len);
            readFully(chunk);
            chunk.flip();
            return;
        }
    }

    /** Fills {@code dst}; while it waits it tells the next rank so, and it gives up after the timeout without progress. */
    private void readFully(ByteBuffer dst) {
        long lastProgress = System.currentTimeMillis();
        try {
            while (dst.hasRemaining()) {
                int k = in.read(dst);
                if (k < 0)
                    throw new CollectiveException("rank " + rank + ": " + prevName + " closed its connection (its task failed or its executor was lost)"
                            + (upstreamWait >= 0 ? "; it was waiting for rank " + upstreamWait : ""));
                if (k > 0) {
                    lastProgress = System.currentTimeMillis();
                    continue;
                }
                int ready = readable.select(keepAliveMillis);
                readable.selectedKeys().clear();
                if (ready > 0) continue;
                long waited = System.currentTimeMillis() - lastProgress;
                if (waited >= timeoutMillis)
                    throw new CollectiveException("rank " + rank + ": " + prevName + " sent nothing for " + waited / 1000
                            + " s (the collective timeout); it stopped answering");
                keepAlive();
            }
        } catch (IOException e) {
            throw new CollectiveException("rank " + rank + ": receiving from " + prevName + " failed: " + e.getMessage(), e);
        }
        failIfSenderFailed();
    }

    /**
     * Throws, naming the previous rank, if its connection closed (its task failed or its executor
     * was lost); for a transport that moves data elsewhere and keeps this ring to watch its peers.
     * Nothing else travels on the ring meanwhile, so anything readable is the end of the stream.
     */
    void checkPreviousAlive() {
        if (size == 1) return;
        try {
            if (readable.selectNow() == 0) return;
            readable.selectedKeys().clear();
            tag.clear();
            if (in.read(tag) < 0)
                throw new CollectiveException("rank " + rank + ": " + prevName + " closed its connection (its task failed or its executor was lost)");
        } catch (IOException e) {
            throw new CollectiveException("rank " + rank + ": watching " + prevName + " failed: " + e.getMessage(), e);
        }
    }

    private void keepAlive() {
        ByteBuffer b = direct(8);
        b.putInt(KEEPALIVE).putInt((rank + size - 1) % size).flip();
        put(new Packet(b, null, 0, 0));
    }

    /** Waits until the sender has written everything queued, so a failure is this operation's. */
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

    /** Writes queued packets in order; array regions are copied into the sender's direct buffer, which the channel writes without another copy. */
    private void sendLoop() {
        FloatBuffer floats = sendChunk.duplicate().position(4).slice().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        try {
            while (true) {
                Packet p = outbox.take();
                if (p == STOP) return;
                ByteBuffer b = p.bytes();
                if (b == null) {
                    floats.put(0, p.data(), p.offset(), p.length());
                    b = sendChunk.clear().putInt(0, p.length() * 4).limit(4 + p.length() * 4);
                }
                while (b.hasRemaining()) out.write(b);
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
        for (java.io.Closeable c : new java.io.Closeable[]{readable, in, out})
            try {
                c.close();
            } catch (IOException ignored) {
                // closing: nothing left to lose
            }
    }
}
