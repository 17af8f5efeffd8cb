package org.sparkrlhf.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkrlhf.checkpoint.CheckpointStore;

/**
 * {@code bin/rlhf} as a user runs it, on the build Maven just made: a job on a multi-JVM
 * {@code local-cluster} master from a launcher whose SPARK_HOME does not exist yet, the bench
 * help, the version, and a user error as one line. (An integration test: the launcher needs the
 * packaged classpath.)
 */
class LauncherIT {
    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    @TempDir
    static Path work;

    record Result(int code, String out, String err) {}

    static Result rlhf(String name, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ROOT.resolve("bin/rlhf").toString()));
        cmd.addAll(List.of(args));
        Path out = work.resolve(name + ".out"), err = work.resolve(name + ".err");
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(ROOT.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().put("RLHF_SKIP_BUILD", "1"); // Maven built it a moment ago; the launcher must not build again inside the build
        pb.environment().remove("SPARK_LOCAL_IP"); // the launcher's own choice is under test
        pb.environment().remove("SPARK_HOME");
        Process p = pb.start();
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(name + " did not finish in 300 s:\n" + Files.readString(err));
        }
        return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    @Test
    void aJobRunsOnALocalClusterStraightFromTheLauncher() throws Exception {
        Path sparkHome = ROOT.resolve("spark-jobs/target/spark-home");
        if (Files.exists(sparkHome)) try (Stream<Path> s = Files.walk(sparkHome)) { // as on a fresh checkout
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        ObjectMapper json = new ObjectMapper();
        List<String> lines = new ArrayList<>();
        for (String s : BrownText.sentences("ca03")) lines.add(json.writeValueAsString(Map.of("text", s)));
        Path data = Files.write(work.resolve("text.jsonl"), lines);
        String run = work.resolve("run").toUri().toString();
        List<String> args = new ArrayList<>(List.of("pretrain", "--master", "local-cluster[2,1,1024]"));
        for (String s : new String[]{"run.dir=" + run, "data.train=" + data.toUri(), "data.maxBadFraction=0.05", "model.contextLength=32",
                "model.dModel=32", "model.nHeads=2", "model.nLayers=1", "train.steps=3", "train.globalBatch=8", "train.microBatch=4",
                "train.partitions=2", "train.warmupSteps=0", "train.schedule=constant", "train.checkpointEvery=3"})
            args.addAll(List.of("--set", s));
        Result r = rlhf("local-cluster", args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("done: 3 steps, last loss"), r.out());
        assertFalse(r.err().contains("resolves to a loopback address") || r.err().contains("SPARK_LOCAL_IP"), "no loopback warnings: " + r.err());
        assertFalse(r.err().contains("Exception"), r.err());
        try (Stream<Path> jars = Files.list(sparkHome.resolve("jars"))) {
            assertTrue(jars.anyMatch(j -> j.getFileName().toString().startsWith("spark-core_2.12")), "the launcher laid out SPARK_HOME");
        }
        org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(run);
        assertEquals(3, new CheckpointStore(dir.getFileSystem(new Configuration()), dir, 2, true).latestValid().orElseThrow().step());
    }

    @Test
    void benchHelpVersionAndAUserErrorSayWhatTheyShould() throws Exception {
        Result help = rlhf("bench-help", "bench", "--help");
        assertEquals(0, help.code(), help.err());
        assertTrue(help.out().startsWith("usage: bin/rlhf bench <model|train|ppo|allreduce|project>"), help.out());
        Result unknown = rlhf("bench-unknown", "bench", "nonsense");
        assertEquals(2, unknown.code());
        assertTrue(unknown.err().startsWith("rlhf bench: unknown benchmark 'nonsense'"), unknown.err());

        Result version = rlhf("version", "pretrain", "-V");
        assertEquals(0, version.code(), version.err());
        assertTrue(version.out().startsWith("spark-rlhf ") && version.out().contains("(Spark 3.5."), version.out());

        Result mistake = rlhf("mistake", "pretrain", "--set", "train.steps=6.9");
        assertEquals(2, mistake.code(), mistake.err());
        assertEquals("error: config key 'train.steps' must be a whole number, got 6.9\n", mistake.err());
    }

}
