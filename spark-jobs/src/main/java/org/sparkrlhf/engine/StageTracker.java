package org.sparkrlhf.engine;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparkrlhf.collective.CollectiveException;

/**
 * The driver's side of a training stage, as XGBoost's tracker is: each rank checks in with its
 * rank and ring address, and once all have, every rank gets the full list (the rendezvous takes
 * milliseconds; Spark's own {@code BarrierTaskContext.allGather} polls once a second). Rank 0 then
 * keeps its connection and reports each step as it finishes, so the driver's progress line moves
 * every step although the stage returns only at its end (best effort: the reports the stage
 * returns are the record).
 */
final class StageTracker implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StageTracker.class);
    private final ServerSocket server;
    private final Thread thread;

    StageTracker(String host, int ranks, Consumer<StepReport> live) throws IOException {
        server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getByName(host), 0));
        thread = new Thread(() -> serve(ranks, live), "stage-tracker");
        thread.setDaemon(true);
        thread.start();
    }

    /** "host:port" where ranks check in. */
    String address() {
        return server.getInetAddress().getHostAddress() + ":" + server.getLocalPort();
    }

    private void serve(int ranks, Consumer<StepReport> live) {
        List<Socket> sockets = new ArrayList<>();
        try {
            String[] addresses = new String[ranks];
            Socket[] byRank = new Socket[ranks];
            for (int i = 0; i < ranks; i++) {
                Socket s = server.accept();
                sockets.add(s);
                DataInputStream in = new DataInputStream(s.getInputStream());
                int rank = in.readInt();
                addresses[rank] = in.readUTF();
                byRank[rank] = s;
            }
            for (Socket s : byRank) {
                DataOutputStream out = new DataOutputStream(new BufferedOutputStream(s.getOutputStream()));
                out.writeInt(ranks);
                for (String a : addresses) out.writeUTF(a);
                out.flush();
            }
            DataInputStream feed = new DataInputStream(new BufferedInputStream(byRank[0].getInputStream()));
            while (true) live.accept(read(feed));
        } catch (EOFException e) {
            // rank 0 finished (or died)
        } catch (IOException | RuntimeException e) {
            if (!server.isClosed()) LOG.debug("stage tracker: {}", e.toString());
        } finally {
            for (Socket s : sockets) close(s);
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }

    private static StepReport read(DataInputStream in) throws IOException {
        return new StepReport(in.readLong(), in.readDouble(), in.readDouble(), in.readDouble(), in.readDouble(), in.readDouble(), in.readBoolean(),
                in.readLong(), in.readLong());
    }

    private static void close(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // the peer may be gone already
        }
    }

    /** A rank's end: check in, get every rank's address; rank 0 then reports steps. */
    static final class Member implements AutoCloseable {
        private final Socket socket;
        private final DataOutputStream out;
        private final String[] addresses;

        private Member(Socket socket, DataOutputStream out, String[] addresses) {
            this.socket = socket;
            this.out = out;
            this.addresses = addresses;
        }

        /** Checks in at {@code tracker} as {@code rank} listening at {@code address}; waits at most {@code timeout} for the others. */
        static Member join(String tracker, int rank, String address, Duration timeout) {
            int colon = tracker.lastIndexOf(':');
            Socket s = new Socket();
            try {
                int wait = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
                s.connect(new InetSocketAddress(tracker.substring(0, colon), Integer.parseInt(tracker.substring(colon + 1))), wait);
                s.setSoTimeout(wait);
                DataOutputStream out = new DataOutputStream(new BufferedOutputStream(s.getOutputStream()));
                out.writeInt(rank);
                out.writeUTF(address);
                out.flush();
                DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream()));
                String[] all = new String[in.readInt()];
                for (int i = 0; i < all.length; i++) all[i] = in.readUTF();
                s.setSoTimeout(0);
                return new Member(s, out, all);
            } catch (SocketTimeoutException e) {
                StageTracker.close(s);
                throw new CollectiveException("rank " + rank + ": not every rank checked in at the driver within " + timeout.toSeconds()
                        + " s (train.collectiveTimeoutSeconds); a rank's task did not start or its executor was lost");
            } catch (IOException e) {
                StageTracker.close(s);
                throw new CollectiveException("rank " + rank + ": cannot check in at the driver (" + tracker + "): " + e.getMessage(), e);
            }
        }

        String[] addresses() {
            return addresses.clone();
        }

        void report(StepReport r) {
            try {
                out.writeLong(r.step());
                out.writeDouble(r.loss());
                out.writeDouble(r.count());
                out.writeDouble(r.accuracy());
                out.writeDouble(r.gradNorm());
                out.writeDouble(r.lr());
                out.writeBoolean(r.skipped());
                out.writeLong(r.wallNanos());
                out.writeLong(r.slowestTaskNanos());
                out.flush();
            } catch (IOException e) {
                LOG.debug("stage tracker: {}", e.toString()); // live progress only
            }
        }

        @Override
        public void close() {
            StageTracker.close(socket);
        }
    }
}
