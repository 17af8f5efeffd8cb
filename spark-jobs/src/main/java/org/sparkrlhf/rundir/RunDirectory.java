package org.sparkrlhf.rundir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparkrlhf.checkpoint.CheckpointStore;
import org.sparkrlhf.config.JobConfig;

/**
 * A run directory belongs to one run. {@code run.json} names the run (an id, its job, when it
 * began); a fresh run takes only a new or empty directory (or one whose run died before its first
 * checkpoint), a resumed run only a directory holding a run of its own job, started with settings
 * it may continue ({@link ResumeCompatibility}). While a run lives it holds the directory's
 * {@link Lease}, so a second run on the same directory stops at once, on local files and on HDFS.
 * Jobs {@link #check} the directory before Spark starts and {@link #claim} it for the run's
 * length.
 */
public final class RunDirectory implements AutoCloseable {
    static final String RUN_FILE = "run.json";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** What a run writes at the top of its directory; anything else means the directory is someone else's. */
    private static final Set<String> RUN_ENTRIES = Set.of(RUN_FILE, "config.json", "checkpoints", "metrics", "quarantine", "eval", "samples.jsonl");

    private final String where;
    private final String runId;
    private final Lease lease;
    private final Optional<CheckpointStore.Checkpoint> resumeFrom;

    private RunDirectory(String where, String runId, Lease lease, Optional<CheckpointStore.Checkpoint> resumeFrom) {
        this.where = where;
        this.runId = runId;
        this.lease = lease;
        this.resumeFrom = resumeFrom;
    }

    /** Checks, before Spark starts, that {@code job} may run in {@code run.dir}: writable, not in use, and new or its own to resume. */
    public static void check(JobConfig cfg, String job, Configuration hadoop) throws IOException {
        open(cfg, job, hadoop, false).close();
    }

    /** Takes the run directory for this run until {@link #close}; the checkpoint to resume from, if any, is verified. */
    public static RunDirectory claim(JobConfig cfg, String job, Configuration hadoop) throws IOException {
        return open(cfg, job, hadoop, true);
    }

    /** What a job does while it holds its run directory. */
    public interface Work<T> {
        T run(RunDirectory dir) throws Exception;
    }

    /** Claims the run directory, does {@code work} in it, and releases it however the work ends. */
    public static <T> T within(JobConfig cfg, String job, Configuration hadoop, Work<T> work) throws Exception {
        try (RunDirectory dir = claim(cfg, job, hadoop)) {
            return work.run(dir);
        }
    }

    /** The verified checkpoint this run continues from (resumed or recurring runs that have one). */
    public Optional<CheckpointStore.Checkpoint> resumeFrom() {
        return resumeFrom;
    }

    public String runId() {
        return runId;
    }

    /** Whether this run still holds the directory (false once another run took it over). */
    public boolean holds() {
        return lease.held();
    }

    /** Throws if another run took the directory over; call before writing to it. */
    public void checkHeld() {
        lease.checkHeld();
    }

    @Override
    public void close() throws IOException {
        lease.close();
    }

    private static RunDirectory open(JobConfig cfg, String job, Configuration hadoop, boolean claim) throws IOException {
        String where = "run.dir " + cfg.run().dir();
        Path dir = new Path(cfg.run().dir());
        FileSystem fs = dir.getFileSystem(hadoop);
        boolean resuming = resuming(cfg);
        JsonNode runFile = readJson(fs, new Path(dir, RUN_FILE));
        String runId = resuming && runFile != null ? runFile.path("id").asText() : UUID.randomUUID().toString();
        Lease lease = takeLease(fs, dir, where, new Lease.Holder(runId, job, UUID.randomUUID().toString(), hostName(),
                ProcessHandle.current().pid(), System.getProperty("spark.yarn.app.id", ""), System.currentTimeMillis(),
                1000L * cfg.run().leaseSeconds()), 1000L * cfg.run().leaseWaitSeconds());
        try {
            Optional<CheckpointStore.Checkpoint> from = inspect(fs, dir, where, cfg, job, runFile, claim);
            if (claim) {
                if (runFile == null || !resuming) writeRunFile(fs, dir, runId, job);
                int removed = new CheckpointStore(fs, dir, cfg.train().keepLast(), true).removeUnfinished();
                if (removed > 0) System.err.printf("%s: removed %d unfinished checkpoint write(s) left by a run that stopped mid-write%n", where, removed);
            }
            return new RunDirectory(where, runId, lease, from);
        } catch (IOException | RuntimeException e) {
            lease.close();
            throw e;
        }
    }

    private static Lease takeLease(FileSystem fs, Path dir, String where, Lease.Holder me, long waitMillis) throws IOException {
        try {
            FileStatus st = fs.exists(dir) ? fs.getFileStatus(dir) : null;
            if (st != null && !st.isDirectory()) throw new RunDirectoryException(where + " is a file, not a directory: name a new or empty directory");
            if (!fs.mkdirs(dir)) throw new IOException("mkdirs returned false");
            return Lease.acquire(LeaseFiles.in(fs, dir), me, where, waitMillis);
        } catch (RunDirectoryException e) {
            throw e;
        } catch (IOException e) {
            throw new RunDirectoryException(where + " cannot be created or written (" + firstLine(e) + "): choose a run.dir you can write, or fix its permissions");
        }
    }

    /** Decides what the directory holds and whether this run may use it; returns the checkpoint to resume from. */
    private static Optional<CheckpointStore.Checkpoint> inspect(FileSystem fs, Path dir, String where, JobConfig cfg, String job, JsonNode runFile,
                                                                boolean claim) throws IOException {
        List<String> names = new ArrayList<>();
        for (FileStatus s : fs.listStatus(dir)) {
            String n = s.getPath().getName();
            if (!n.startsWith(Lease.FILE) && !n.startsWith("." + Lease.FILE)) names.add(n);
        }
        boolean resuming = resuming(cfg);
        if (names.isEmpty()) {
            if (claim && resuming) System.err.printf("%s holds no run yet: starting a fresh one%n", where);
            return Optional.empty();
        }
        if (names.stream().noneMatch(RUN_ENTRIES::contains))
            throw new RunDirectoryException(where + " is not empty and holds no run (it has " + list(names) + "): name a new or empty directory");
        CheckpointStore store = new CheckpointStore(fs, dir, cfg.train().keepLast(), true);
        Optional<Path> newest = store.newestPublished();
        String run = describe(runFile, newest);
        if (!resuming) {
            if (newest.isPresent() || names.contains("metrics"))
                throw new RunDirectoryException(where + " already holds " + run + ": choose a new run.dir for a fresh run, or continue that one with "
                        + "--set run.resume=true");
            if (claim) { // it stopped before training anything worth keeping: a fresh run replaces its files
                System.err.printf("%s held %s, which stopped before its first step; starting a fresh run in its place%n", where, run);
                for (String n : names) if (RUN_ENTRIES.contains(n)) fs.delete(new Path(dir, n), true);
            }
            return Optional.empty();
        }
        if (runFile != null && !runFile.path("job").asText().equals(job))
            throw new RunDirectoryException(where + " holds " + run + "; a " + job + " job cannot resume it: choose a new run.dir"
                    + (newest.isPresent() ? " (to start from its weights, " + startFrom(job, newest.get()) + ")" : ""));
        Optional<CheckpointStore.Checkpoint> from = claim ? store.latestValid() : Optional.empty();
        JsonNode recorded = claim ? (from.isEmpty() ? null : from.get().read("config.json", (in, src) -> JSON.readTree(in)))
                : newest.isEmpty() ? null : readJson(fs, new Path(newest.get(), "config.json"));
        if (recorded == null) {
            if (claim) System.err.printf("%s holds %s but no valid checkpoint: starting it afresh%n", where, run);
            return from;
        }
        Path ckpt = claim ? from.get().dir() : newest.get();
        ResumeCompatibility.Comparison comparison = ResumeCompatibility.compare(recorded, cfg);
        List<ResumeCompatibility.Difference> bad = comparison.refused();
        if (!bad.isEmpty())
            throw new RunDirectoryException(where + " holds " + run + ", which a resumed run must continue with the settings it started with: "
                    + bad.stream().map(d -> d.key() + " is " + d.now() + " here but " + d.was() + " in the run").collect(Collectors.joining("; "))
                    + ". Drop the change, or train on in a new run.dir (" + startFrom(job, ckpt) + ")");
        if (claim) {
            List<ResumeCompatibility.Difference> changed = comparison.allowed();
            if (!changed.isEmpty()) System.err.printf("%s: resuming with %s%n", where,
                    changed.stream().map(d -> d.key() + " " + d.was() + " -> " + d.now()).collect(Collectors.joining(", ")));
        }
        return from;
    }

    /** A resumed run, or a recurring one (each round continues the run). */
    private static boolean resuming(JobConfig cfg) {
        return cfg.run().resume() || cfg.run().recurring();
    }

    private static String startFrom(String job, Path checkpoint) {
        return job.equals("ppo") ? "ppo.policyInit=" + checkpoint + "/policy.safetensors" : "model.init=" + checkpoint + "/weights.safetensors";
    }

    private static String describe(JsonNode runFile, Optional<Path> newest) {
        String ckpt = newest.map(p -> ", newest checkpoint " + p.getName().replaceFirst("step-0*(?=\\d)", "at step ")).orElse(", no checkpoint");
        if (runFile == null) return "an earlier run (no run.json" + ckpt + ")";
        return "run " + runFile.path("id").asText() + " (" + runFile.path("job").asText() + ", started " + runFile.path("started").asText() + ckpt + ")";
    }

    private static void writeRunFile(FileSystem fs, Path dir, String runId, String job) throws IOException {
        ObjectNode o = JSON.createObjectNode();
        o.put("id", runId);
        o.put("job", job);
        o.put("started", Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
        o.put("host", hostName());
        o.put("user", System.getProperty("user.name"));
        try (OutputStream out = fs.create(new Path(dir, RUN_FILE), true)) {
            out.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(o));
        }
    }

    private static JsonNode readJson(FileSystem fs, Path file) {
        try (InputStream in = fs.open(file)) {
            return JSON.readTree(in);
        } catch (IOException e) {
            return null; // absent or unreadable: treated as not recorded
        }
    }

    private static String list(List<String> names) {
        return names.size() <= 5 ? String.join(", ", names) : String.join(", ", names.subList(0, 5)) + " and " + (names.size() - 5) + " more";
    }

    private static String firstLine(Throwable e) {
        String m = String.valueOf(e.getMessage());
        int nl = m.indexOf('\n');
        return e.getClass().getSimpleName() + ": " + (nl < 0 ? m : m.substring(0, nl));
    }

    private static String hostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown-host";
        }
    }
}
