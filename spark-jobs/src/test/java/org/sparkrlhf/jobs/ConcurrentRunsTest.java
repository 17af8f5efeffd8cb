package org.sparkrlhf.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.sparkrlhf.checkpoint.CheckpointStore;
import org.sparkrlhf.engine.MiniHdfs;

/**
 * Two real driver processes on one run directory, on local files and on HDFS: while the first
 * trains, a second run (fresh or resumed) stops at once naming it; the first is then killed
 * (SIGKILL, mid-run), its lock outlives it, and a resumed run waits for the lock to expire, takes
 * it over, says whose it was, and continues from the newest checkpoint.
 */
class ConcurrentRunsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    static MiniDFSCluster hdfs;
    @TempDir
    static Path work;
    static Path data;

    @BeforeAll
    static void start() throws IOException {
        hdfs = MiniHdfs.start();
        List<String> lines = new ArrayList<>();
        for (String s : BrownText.sentences("ca01", "ca02")) lines.add(JSON.writeValueAsString(java.util.Map.of("text", s)));
        data = work.resolve("text.jsonl");
        Files.write(data, lines);
    }

    @AfterAll
    static void stop() {
        if (hdfs != null) hdfs.shutdown();
    }

    static Stream<String> runDirs() {
        return Stream.of(work.resolve("local-run").toUri().toString(), hdfs.getURI() + "/runs/concurrent");
    }

    static List<String> args(String runDir, String... more) {
        List<String> a = new ArrayList<>(List.of("--master", "local[1]"));
        for (String s : new String[]{"run.dir=" + runDir, "data.train=" + data.toUri(), "data.maxBadFraction=0.05", "model.contextLength=32",
                "model.dModel=32", "model.nHeads=2", "model.nLayers=1", "train.globalBatch=4", "train.microBatch=4", "train.partitions=1",
                "train.warmupSteps=1", "train.checkpointEvery=5", "train.logEvery=1000", "run.leaseSeconds=3"})
            a.addAll(List.of("--set", s));
        for (String s : more) a.addAll(List.of("--set", s));
        return a;
    }

    @ParameterizedTest
    @MethodSource("runDirs")
    void aSecondDriverStopsAndAResumeTakesOverOnlyAfterTheFirstDied(String runDir) throws Exception {
        FileSystem fs = new org.apache.hadoop.fs.Path(runDir).getFileSystem(new Configuration());
        org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(runDir), lease = new org.apache.hadoop.fs.Path(dir, "lease.json");
        Path logs = work.resolve("logs-" + (runDir.startsWith("hdfs") ? "hdfs" : "local"));

        DriverProcess first = DriverProcess.start(PretrainJob.class, args(runDir, "train.steps=100000"), logs, "first");
        long deadline = System.currentTimeMillis() + 120_000;
        while (!fs.exists(new org.apache.hadoop.fs.Path(dir, "checkpoints/" + CheckpointStore.dirName(5)))) {
            assertTrue(first.process.isAlive(), () -> "the first driver ended early:\n" + first.err());
            assertTrue(System.currentTimeMillis() < deadline, "no checkpoint from the first driver in 120 s");
            Thread.sleep(200);
        }
        String runId = JSON.readTree(fs.open(new org.apache.hadoop.fs.Path(dir, "run.json"))).path("id").asText();

        for (String resume : List.of("false", "true")) {
            DriverProcess second = DriverProcess.start(PretrainJob.class, args(runDir, "train.steps=4", "run.resume=" + resume), logs, "second-" + resume);
            assertEquals(2, second.await(60), second::err);
            List<String> said = second.errLines();
            assertEquals(1, said.size(), "one line: " + said);
            assertTrue(said.get(0).startsWith("error: run.dir " + runDir + " is in use by run " + runId + " (pretrain, driver pid " + first.process.pid()),
                    said.get(0));
            assertTrue(first.process.isAlive(), "the first driver still trains");
        }

        first.process.destroyForcibly(); // SIGKILL mid-run: nothing is released
        first.process.waitFor();
        assertEquals(137, first.process.exitValue(), "killed by SIGKILL");
        assertTrue(fs.exists(lease), "the dead driver's lock outlives it");
        long newest = Long.parseLong(new CheckpointStore(fs, dir, 2, true).newestPublished().orElseThrow().getName().substring("step-".length()));

        DriverProcess resumed = DriverProcess.start(PretrainJob.class,
                args(runDir, "run.resume=true", "run.leaseWaitSeconds=30", "train.steps=" + (newest + 2)), logs, "resumed");
        assertEquals(0, resumed.await(120), resumed::err);
        String said = resumed.err();
        assertTrue(said.contains("run.dir " + runDir + ": taking over the lock of run " + runId + " (pretrain, driver pid " + first.process.pid())
                && said.contains("whose driver stopped renewing it at"), said);
        assertTrue(said.contains("pretrain: resuming from") && said.contains("(step " + newest + ")"), said);
        assertTrue(resumed.out().contains("done: " + (newest + 2) + " steps"), resumed.out());
        assertFalse(fs.exists(lease), "a run that ended releases its lock");
        assertEquals(runId, JSON.readTree(fs.open(new org.apache.hadoop.fs.Path(dir, "run.json"))).path("id").asText(), "still the same run");
    }
}
