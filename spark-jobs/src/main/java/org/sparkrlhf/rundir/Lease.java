package org.sparkrlhf.rundir;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.time.Instant;
import java.util.Arrays;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A lock on a run directory that outlives no driver: the file {@code lease.json}, published only
 * if absent, and renewed (its modification time moved) every third of its time to live. A driver
 * that dies stops renewing, so its lease expires and the next run takes it over, saying whose it
 * was. The holder checks at every renewal that the file is still its own; a run that lost its
 * lease (it paused past the time to live and another run took over) stops before it writes again.
 * Expiry compares the renewal time with this machine's clock: drivers' clocks must agree to within
 * a small part of the time to live (NTP).
 */
final class Lease implements AutoCloseable {
    static final String FILE = "lease.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Who holds a lease: the run, this acquisition's token, where its driver runs, and the YARN application if any. */
    record Holder(String run, String job, String token, String host, long pid, String yarnApp, long acquiredMillis, long ttlMillis) {
        String describe() {
            return "run " + run + " (" + job + ", driver pid " + pid + " on " + host + (yarnApp.isEmpty() ? "" : ", YARN " + yarnApp) + ")";
        }
    }

    private final LeaseFiles files;
    private final Holder me;
    private final String where;
    private final ScheduledExecutorService renewer;
    private volatile long lastRenewed;
    private volatile String lost;

    private Lease(LeaseFiles files, Holder me, String where, long now) {
        this.files = files;
        this.me = me;
        this.where = where;
        this.lastRenewed = now;
        this.renewer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "run-dir-lease");
            t.setDaemon(true);
            return t;
        });
        long period = Math.max(50, me.ttlMillis() / 3);
        renewer.scheduleWithFixedDelay(this::renew, period, period, TimeUnit.MILLISECONDS);
    }

    /**
     * Takes the lease, waiting up to {@code waitMillis} for a live holder to let go. An expired
     * lease, or one held by an earlier attempt of the same YARN application, is taken over.
     */
    static Lease acquire(LeaseFiles files, Holder me, String where, long waitMillis) throws IOException {
        long deadline = System.currentTimeMillis() + waitMillis;
        byte[] mine = JSON.writeValueAsBytes(me);
        while (true) {
            if (files.publish(FILE, mine)) return new Lease(files, me, where, System.currentTimeMillis());
            LeaseFiles.Stamped found = files.read(FILE);
            if (found == null) continue; // released meanwhile
            Holder other = parse(found.content());
            long now = System.currentTimeMillis();
            long ttl = other != null ? other.ttlMillis() : me.ttlMillis();
            boolean sameApp = other != null && !me.yarnApp().isEmpty() && me.yarnApp().equals(other.yarnApp());
            if (!sameApp && now - found.modifiedMillis() <= ttl) {
                if (now < deadline) {
                    sleep(Math.min(500, Math.max(50, ttl / 10)));
                    continue;
                }
                throw inUse(where, other, found.modifiedMillis(), ttl, now);
            }
            if (!takeOver(files, mine, other, found, where, sameApp, ttl)) sleep(50);
        }
    }

    /**
     * Removes a stale lease so that {@code acquire} can publish its own. Of several runs that found
     * the same stale lease, only the one that creates the marker {@code lease.json.takeover-<id>-<k>}
     * (a create that refuses an existing name) may delete it, and only after reading again that it
     * is still that stale lease; the others start over and find the new lease. Nobody moves or
     * deletes a lease it has not just seen stale, so a fresh lease is never lost. A marker whose
     * creator died mid-way ages like a lease, and then the next {@code k} is tried. Returns false
     * when another run is taking the lease over now, so the caller waits a little.
     */
    private static boolean takeOver(LeaseFiles files, byte[] mine, Holder other, LeaseFiles.Stamped found, String where, boolean sameApp, long ttl)
            throws IOException {
        String id = other != null ? other.token() : "unreadable-" + found.modifiedMillis();
        for (int k = 0; ; k++) {
            String marker = marker(id, k);
            if (!files.publish(marker, mine)) {
                LeaseFiles.Stamped m = files.read(marker);
                if (m == null) return true; // its creator finished: start over
                if (System.currentTimeMillis() - m.modifiedMillis() <= ttl) return false;
                continue; // its creator died mid-way
            }
            try {
                LeaseFiles.Stamped again = files.read(FILE);
                if (!isSame(again, other, found)) return true; // released or taken over meanwhile
                if (!sameApp && System.currentTimeMillis() - again.modifiedMillis() <= ttl) return true; // renewed: its holder lives
                files.delete(FILE);
                for (int j = 0; j < k; j++) files.delete(marker(id, j));
            } finally {
                files.delete(marker);
            }
            System.err.printf("%s: taking over the lock of %s, %s%n", where, other == null ? "an unreadable lease" : other.describe(),
                    sameApp ? "an earlier attempt of this YARN application" : "whose driver stopped renewing it at " + Instant.ofEpochMilli(found.modifiedMillis()));
            return true;
        }
    }

    /** The k-th takeover marker of the stale lease {@code id}. */
    private static String marker(String id, int k) {
        return FILE + ".takeover-" + id + "-" + k;
    }

    /** Whether {@code now} is the lease first {@code found}: the same acquisition, or for an unreadable one the same bytes and time. */
    private static boolean isSame(LeaseFiles.Stamped now, Holder other, LeaseFiles.Stamped found) {
        if (now == null) return false;
        if (other == null) return now.modifiedMillis() == found.modifiedMillis() && Arrays.equals(now.content(), found.content());
        Holder h = parse(now.content());
        return h != null && h.token().equals(other.token());
    }

    private static RunDirectoryException inUse(String where, Holder other, long renewed, long ttl, long now) {
        String who = other == null ? "another run (its lease.json is unreadable)" : other.describe() + ", started " + Instant.ofEpochMilli(other.acquiredMillis());
        return new RunDirectoryException(String.format("%s is in use by %s; its driver renewed the lock %.0f s ago. Wait for that run to end "
                        + "or choose another run.dir; if its driver is gone, the lock expires at %s (run.leaseWaitSeconds makes a new run wait for that)",
                where, who, (now - renewed) / 1000.0, Instant.ofEpochMilli(renewed + ttl)));
    }

    static Holder parse(byte[] content) {
        try {
            return JSON.readValue(content, Holder.class);
        } catch (IOException e) {
            return null;
        }
    }

    private void renew() {
        long now = System.currentTimeMillis();
        try {
            LeaseFiles.Stamped s = files.read(FILE);
            Holder h = s == null ? null : parse(s.content());
            if (h == null || !h.token().equals(me.token())) {
                lost = s == null ? "its lease.json was removed" : "its lease.json now belongs to " + (h == null ? "an unreadable holder" : h.describe());
                renewer.shutdown();
                return;
            }
            if (files.touch(FILE, now)) lastRenewed = now;
        } catch (IOException e) {
            if (now - lastRenewed > me.ttlMillis()) {
                lost = "it could not renew its lease for " + (now - lastRenewed) / 1000 + " s (" + e.getMessage() + ")";
                renewer.shutdown();
            }
        }
    }

    /** Why this run no longer holds the lease, or null while it does. */
    private String lostReason() {
        if (lost == null && System.currentTimeMillis() - lastRenewed > me.ttlMillis())
            lost = "it has not renewed its lease for " + (System.currentTimeMillis() - lastRenewed) / 1000 + " s";
        return lost;
    }

    /** Throws if this run no longer holds the lease; called before the run writes. */
    void checkHeld() {
        String why = lostReason();
        if (why != null)
            throw new RunDirectoryException(where + ": this run lost its lock because " + why + "; it stops before writing again so that two runs' "
                    + "files do not mix. Resume with run.resume=true once no other run uses the directory");
    }

    boolean held() {
        return lostReason() == null;
    }

    Holder holder() {
        return me;
    }

    /** Stops renewing and removes the lease if it is still this run's. */
    @Override
    public void close() throws IOException {
        renewer.shutdownNow();
        LeaseFiles.Stamped s = files.read(FILE);
        Holder h = s == null ? null : parse(s.content());
        if (h != null && h.token().equals(me.token())) files.delete(FILE);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RunDirectoryException("interrupted while waiting for the run directory's lock");
        }
    }
}
