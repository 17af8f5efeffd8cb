package org.sparkrlhf.rundir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.security.PrivilegedExceptionAction;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.security.UserGroupInformation;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.sparkrlhf.checkpoint.CheckpointStore;
import org.sparkrlhf.config.ConfigLoader;
import org.sparkrlhf.config.JobConfig;
import org.sparkrlhf.engine.MiniHdfs;

/** Who may use a run directory, on local files and on HDFS: ownership, resume compatibility and the lease. */
class RunDirectoryTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    static MiniDFSCluster hdfs;
    static Configuration conf = new Configuration();
    @TempDir
    static java.nio.file.Path local;

    @BeforeAll
    static void start() throws IOException {
        hdfs = MiniHdfs.start();
    }

    @AfterAll
    static void stop() {
        if (hdfs != null) hdfs.shutdown();
    }

    /** A run-directory root on each file system. */
    static Stream<String> roots() {
        return Stream.of(local.toUri().toString(), hdfs.getURI() + "/runs");
    }

    private static int fresh;

    static String newDir(String root) {
        return root + "/run-" + (++fresh);
    }

    static JobConfig config(String dir, String... more) {
        List<String> o = new ArrayList<>(List.of("run.dir=" + dir, "data.train=/data/text.jsonl", "run.leaseSeconds=1"));
        o.addAll(List.of(more));
        return ConfigLoader.load(null, "test", o);
    }

    /** A run with a checkpoint at {@code step}, as a job would leave it. */
    static String finishedRun(JobConfig cfg, long step) throws IOException {
        try (RunDirectory d = RunDirectory.claim(cfg, "pretrain", conf)) {
            FileSystem fs = new Path(cfg.run().dir()).getFileSystem(conf);
            new CheckpointStore(fs, new Path(cfg.run().dir()), 2, true).save(step,
                    Map.of("config.json", out -> out.write(JSON.writeValueAsBytes(cfg))), null);
            return d.runId();
        }
    }

    static String stderrOf(IORunnable r) throws IOException {
        PrintStream old = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true));
        try {
            r.run();
        } finally {
            System.setErr(old);
        }
        return err.toString();
    }

    interface IORunnable {
        void run() throws IOException;
    }

    @ParameterizedTest
    @MethodSource("roots")
    void aFreshRunRefusesADirectoryHoldingAnotherRunAndAResumeContinuesIt(String root) throws IOException {
        JobConfig cfg = config(newDir(root));
        String id = finishedRun(cfg, 5);
        RunDirectoryException e = assertThrows(RunDirectoryException.class, () -> RunDirectory.check(cfg, "pretrain", conf));
        assertTrue(e.getMessage().contains("already holds run " + id + " (pretrain") && e.getMessage().contains("newest checkpoint at step 5")
                && e.getMessage().contains("choose a new run.dir") && e.getMessage().contains("run.resume=true"), e.getMessage());
        assertThrows(RunDirectoryException.class, () -> RunDirectory.claim(cfg, "pretrain", conf));

        JobConfig resume = config(cfg.run().dir(), "run.resume=true", "train.steps=500");
        String said = stderrOf(() -> {
            try (RunDirectory d = RunDirectory.claim(resume, "pretrain", conf)) {
                assertEquals(5, d.resumeFrom().orElseThrow().step());
                assertEquals(id, d.runId(), "a resumed run keeps its id");
            }
        });
        assertTrue(said.contains("resuming with train.steps 100 -> 500"), said);
    }

    @ParameterizedTest
    @MethodSource("roots")
    void aDirectoryOfOtherFilesIsNoRunDirectory(String root) throws IOException {
        String dir = newDir(root);
        FileSystem fs = new Path(dir).getFileSystem(conf);
        fs.create(new Path(dir, "notes.txt")).close();
        for (String resume : List.of("false", "true")) {
            RunDirectoryException e = assertThrows(RunDirectoryException.class, () -> RunDirectory.check(config(dir, "run.resume=" + resume), "sft", conf));
            assertTrue(e.getMessage().contains("is not empty and holds no run (it has notes.txt)"), e.getMessage());
        }
    }

    @ParameterizedTest
    @MethodSource("roots")
    void aResumeNamesEverySettingThatDiffersAndTheJobMustMatch(String root) throws IOException {
        JobConfig cfg = config(newDir(root));
        finishedRun(cfg, 3);
        RunDirectoryException e = assertThrows(RunDirectoryException.class,
                () -> RunDirectory.check(config(cfg.run().dir(), "run.resume=true", "run.seed=7", "model.dModel=64"), "pretrain", conf));
        assertTrue(e.getMessage().contains("run.seed is 7 here but 1234 in the run") && e.getMessage().contains("model.dModel is 64 here but 128 in the run")
                && e.getMessage().contains("model.init=" + new Path(cfg.run().dir()).getFileSystem(conf).makeQualified(new Path(cfg.run().dir()))
                + "/checkpoints/step-0000003/weights.safetensors"), e.getMessage());
        // unset, ppo.seed is run.seed: naming that value is no change, another is
        RunDirectory.check(config(cfg.run().dir(), "run.resume=true", "ppo.seed=1234"), "pretrain", conf);
        RunDirectoryException seed = assertThrows(RunDirectoryException.class,
                () -> RunDirectory.check(config(cfg.run().dir(), "run.resume=true", "ppo.seed=5"), "pretrain", conf));
        assertTrue(seed.getMessage().contains("ppo.seed is 5 here but 1234 in the run"), seed.getMessage());
        // the claim (which verifies the checkpoint) says the same
        assertThrows(RunDirectoryException.class, () -> RunDirectory.claim(config(cfg.run().dir(), "run.resume=true", "run.seed=7"), "pretrain", conf));
        RunDirectoryException job = assertThrows(RunDirectoryException.class, () -> RunDirectory.check(config(cfg.run().dir(), "run.resume=true"), "sft", conf));
        assertTrue(job.getMessage().contains("a sft job cannot resume it"), job.getMessage());
    }

    @ParameterizedTest
    @MethodSource("roots")
    void aLiveRunKeepsItsLeaseAndASecondRunStopsAtOnce(String root) throws Exception {
        JobConfig cfg = config(newDir(root));
        try (RunDirectory first = RunDirectory.claim(cfg, "pretrain", conf)) {
            Thread.sleep(2500); // over twice the time to live: only renewals keep the lease alive
            RunDirectoryException e = assertThrows(RunDirectoryException.class, () -> RunDirectory.claim(cfg, "pretrain", conf));
            assertTrue(e.getMessage().contains("is in use by run " + first.runId()) && e.getMessage().contains("driver pid " + ProcessHandle.current().pid())
                    && e.getMessage().contains("run.leaseWaitSeconds"), e.getMessage());
            first.checkHeld();
        }
        try (RunDirectory second = RunDirectory.claim(cfg, "pretrain", conf)) { // released: free at once
            assertTrue(second.holds());
        }
    }

    /** Publishes the lease of a driver that died {@code agoMillis} ago (it stopped renewing then); it lived {@code ttlMillis} past that. */
    static void deadHolder(String dir, String run, String yarnApp, long agoMillis, long ttlMillis) throws IOException {
        Path p = new Path(dir);
        FileSystem fs = p.getFileSystem(conf);
        fs.mkdirs(p);
        LeaseFiles files = LeaseFiles.in(fs, p);
        long then = System.currentTimeMillis() - agoMillis;
        assertTrue(files.publish(Lease.FILE, JSON.writeValueAsBytes(new Lease.Holder(run, "pretrain", "dead-token", "elsewhere", 4242, yarnApp, then, ttlMillis))));
        assertTrue(files.touch(Lease.FILE, then));
    }

    @ParameterizedTest
    @MethodSource("roots")
    void anExpiredLeaseIsTakenOverWithAMessage(String root) throws IOException {
        String dir = newDir(root);
        deadHolder(dir, "dead-run", "", 0, 4000);
        RunDirectoryException e = assertThrows(RunDirectoryException.class, () -> RunDirectory.claim(config(dir), "pretrain", conf));
        assertTrue(e.getMessage().contains("in use by run dead-run (pretrain, driver pid 4242 on elsewhere)"), e.getMessage());
        // waiting for it: the lease expires 4 s after its last renewal, and the run takes over
        String said = stderrOf(() -> RunDirectory.claim(config(dir, "run.leaseWaitSeconds=10"), "pretrain", conf).close());
        assertTrue(said.contains("taking over the lock of run dead-run (pretrain, driver pid 4242 on elsewhere), whose driver stopped renewing it at"), said);
    }

    @ParameterizedTest
    @MethodSource("roots")
    void ofManyRunsTakingOverOneExpiredLeaseExactlyOneWins(String root) throws Exception {
        String dir = newDir(root);
        deadHolder(dir, "dead-run", "", 60_000, 1000);
        int n = 6;
        CyclicBarrier start = new CyclicBarrier(n);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        List<Future<RunDirectory>> tries = new ArrayList<>();
        for (int i = 0; i < n; i++)
            tries.add(pool.submit(() -> {
                start.await();
                return RunDirectory.claim(config(dir, "run.leaseSeconds=30"), "pretrain", conf);
            }));
        List<RunDirectory> won = new ArrayList<>();
        int refused = 0;
        for (Future<RunDirectory> f : tries) {
            try {
                won.add(f.get());
            } catch (java.util.concurrent.ExecutionException e) {
                assertTrue(e.getCause() instanceof RunDirectoryException && e.getCause().getMessage().contains("is in use by run"), String.valueOf(e.getCause()));
                refused++;
            }
        }
        pool.shutdown();
        assertEquals(1, won.size(), "exactly one run holds the directory");
        assertEquals(n - 1, refused);
        won.get(0).close();
    }

    @ParameterizedTest
    @MethodSource("roots")
    void aTakeoverMarkerLeftByARunThatDiedMidWayAgesAndTheNextRunTakesOver(String root) throws Exception {
        String dir = newDir(root);
        deadHolder(dir, "dead-run", "", 60_000, 1000);
        Path p = new Path(dir);
        FileSystem fs = p.getFileSystem(conf);
        LeaseFiles files = LeaseFiles.in(fs, p);
        String marker = Lease.FILE + ".takeover-dead-token-0";
        assertTrue(files.publish(marker, "{}".getBytes()));
        // while the marker is fresh its creator may still be working: the run waits rather than deleting the lease too
        long started = System.currentTimeMillis();
        String said = stderrOf(() -> RunDirectory.claim(config(dir), "pretrain", conf).close());
        assertTrue(System.currentTimeMillis() - started >= 900, "the run waited for the fresh marker to age past the lease's time to live");
        assertTrue(said.contains("taking over the lock of run dead-run"), said);
        assertNull(files.read(marker), "the winner removes the dead run's marker");
        assertNull(files.read(Lease.FILE + ".takeover-dead-token-1"), "and its own");
        assertNull(files.read(Lease.FILE), "and releases the lease on close");
    }

    @ParameterizedTest
    @MethodSource("roots")
    void aRunThatLostItsLeaseStopsBeforeWritingAndLeavesTheNewHoldersLease(String root) throws Exception {
        JobConfig cfg = config(newDir(root));
        Path dir = new Path(cfg.run().dir());
        FileSystem fs = dir.getFileSystem(conf);
        RunDirectory paused = RunDirectory.claim(cfg, "pretrain", conf);
        // another run took over while this one was paused past its time to live
        fs.delete(new Path(dir, Lease.FILE), false);
        deadHolder(cfg.run().dir(), "usurper", "", -60_000, 1000);
        Thread.sleep(1000);
        assertFalse(paused.holds());
        RunDirectoryException e = assertThrows(RunDirectoryException.class, paused::checkHeld);
        assertTrue(e.getMessage().contains("this run lost its lock because its lease.json") && e.getMessage().contains("stops before writing again"),
                e.getMessage());
        paused.close();
        assertEquals("usurper", Lease.parse(LeaseFiles.in(fs, dir).read(Lease.FILE).content()).run(), "closing must not remove another run's lease");
    }

    @Test
    void anEarlierAttemptOfTheSameYarnApplicationIsTakenOverAtOnce() throws IOException {
        String dir = newDir(hdfs.getURI() + "/runs");
        deadHolder(dir, "attempt-1", "application_1764000000000_0007", -60_000, 1000); // renewed "just now": it still looks alive
        System.setProperty("spark.yarn.app.id", "application_1764000000000_0007");
        try {
            String said = stderrOf(() -> RunDirectory.claim(config(dir), "pretrain", conf).close());
            assertTrue(said.contains("an earlier attempt of this YARN application"), said);
        } finally {
            System.clearProperty("spark.yarn.app.id");
        }
    }

    @ParameterizedTest
    @MethodSource("roots")
    void unfinishedCheckpointWritesAreRemovedWhenTheRunIsClaimed(String root) throws IOException {
        JobConfig cfg = config(newDir(root));
        finishedRun(cfg, 2);
        FileSystem fs = new Path(cfg.run().dir()).getFileSystem(conf);
        Path tmp = new Path(cfg.run().dir(), "checkpoints/.tmp-step-0000004-0d6f");
        fs.create(new Path(tmp, "weights.safetensors")).close(); // a driver killed while writing step 4
        String said = stderrOf(() -> RunDirectory.claim(config(cfg.run().dir(), "run.resume=true"), "pretrain", conf).close());
        assertFalse(fs.exists(tmp));
        assertTrue(said.contains("removed 1 unfinished checkpoint write(s)"), said);
    }

    @Test
    void anUnwritableRunDirectoryIsNamedBeforeAnyWork() throws Exception {
        java.nio.file.Path file = local.resolve("a-file");
        java.nio.file.Files.writeString(file, "x");
        RunDirectoryException e = assertThrows(RunDirectoryException.class, () -> RunDirectory.check(config(file.toUri() + "/run"), "pretrain", conf));
        assertTrue(e.getMessage().contains("cannot be created or written (ParentNotDirectoryException") && e.getMessage().contains("fix its permissions"),
                e.getMessage());
        e = assertThrows(RunDirectoryException.class, () -> RunDirectory.check(config(file.toUri().toString()), "pretrain", conf));
        assertTrue(e.getMessage().contains("is a file, not a directory"), e.getMessage());

        // HDFS permissions: a directory only its owner may write, used by another user
        FileSystem admin = hdfs.getFileSystem();
        admin.mkdirs(new Path("/locked"), new FsPermission((short) 0755));
        String dir = hdfs.getURI() + "/locked/run";
        UserGroupInformation alice = UserGroupInformation.createUserForTesting("alice", new String[]{"analysts"});
        RunDirectoryException denied = alice.doAs((PrivilegedExceptionAction<RunDirectoryException>) () ->
                assertThrows(RunDirectoryException.class, () -> RunDirectory.check(config(dir), "pretrain", new Configuration())));
        assertTrue(denied.getMessage().startsWith("run.dir " + dir + " cannot be created or written (AccessControlException: Permission denied: user=alice")
                && !denied.getMessage().contains("\n"), denied.getMessage());
        assertNotEquals(null, admin.getFileStatus(new Path("/locked")));
    }
}
