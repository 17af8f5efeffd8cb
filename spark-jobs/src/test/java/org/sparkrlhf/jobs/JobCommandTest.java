package org.sparkrlhf.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Every mistake a user can make on the command line (config, data, model files, run directory)
 * ends with one line on stderr that names the place and the fix, and exit code 2; checked before
 * Spark starts where it can be (the run directory is then never created).
 */
class JobCommandTest {
    @TempDir
    static Path dir;
    static Path text, prompts;

    @BeforeAll
    static void data() throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<String> t = new ArrayList<>(), p = new ArrayList<>();
        for (String s : BrownText.sentences("ca01")) {
            t.add(json.writeValueAsString(Map.of("text", s)));
            p.add(json.writeValueAsString(Map.of("prompt", String.join(" ", List.of(s.split(" ")).subList(0, Math.min(3, s.split(" ").length))))));
        }
        text = Files.write(dir.resolve("text.jsonl"), t);
        prompts = Files.write(dir.resolve("prompts.jsonl"), p);
    }

    record Result(int code, String out, String err) {
        /** The one line a user error prints; fails if there is not exactly one, or a stack trace. */
        String errorLine() {
            List<String> errors = err.lines().filter(l -> l.startsWith("error: ")).toList();
            assertEquals(1, errors.size(), err);
            assertFalse(err.contains("\tat ") || err.contains("Exception in"), err);
            assertEquals(UserErrors.EXIT_CODE, code, err);
            return errors.get(0);
        }
    }

    static Result run(Callable<Integer> job, String... args) {
        PrintStream oldErr = System.err, oldOut = System.out;
        ByteArrayOutputStream err = new ByteArrayOutputStream(), out = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true));
        System.setOut(new PrintStream(out, true));
        try {
            int code = new CommandLine(job).execute(args);
            return new Result(code, out.toString(), err.toString());
        } finally {
            System.setErr(oldErr);
            System.setOut(oldOut);
        }
    }

    /** A tiny pre-training command line in {@code runDir}, with more {@code --set}s. */
    static String[] pretrain(String runDir, String... sets) {
        List<String> a = new ArrayList<>(List.of("--master", "local[1]"));
        for (String s : new String[]{"run.dir=" + runDir, "data.train=" + text.toUri(), "model.contextLength=32", "model.dModel=32",
                "model.nHeads=2", "model.nLayers=1", "train.steps=2", "train.globalBatch=4", "train.microBatch=4", "train.partitions=1",
                "train.warmupSteps=0", "train.schedule=constant", "train.checkpointEvery=2"})
            a.addAll(List.of("--set", s));
        for (String s : sets) a.addAll(List.of("--set", s));
        return a.toArray(String[]::new);
    }

    static String newRun(String name) {
        return dir.resolve(name).toUri().toString();
    }

    @Test
    void configMistakesAreOneLineBeforeAnyWork() {
        String run = newRun("config-mistakes");
        assertTrue(run(new PretrainJob(), pretrain(run, "train.lrr=1")).errorLine().startsWith("error: unknown config key 'train.lrr'"));
        assertTrue(run(new PretrainJob(), "--config", "/no/such/job.yaml").errorLine().contains("error: config file not found: /no/such/job.yaml"));
        assertEquals("error: config key 'train.steps' must be a whole number, got 6.9", run(new PretrainJob(), pretrain(run, "train.steps=6.9")).errorLine());
        assertEquals("error: config key 'train.steps' has value 99999999999, beyond the range of a whole number here (2147483647 at most)",
                run(new PretrainJob(), pretrain(run, "train.steps=99999999999")).errorLine());
        assertFalse(Files.exists(dir.resolve("config-mistakes")), "nothing was written");
    }

    @Test
    void commandOptionMistakesAreOneLineBeforeSparkStarts() {
        Path out = dir.resolve("label-out");
        assertEquals("error: give --judge (a reward model), or --constitution FILE with --scorer (a language model)",
                run(new LabelCommand(), "--name", "j", "--records", prompts.toString(), "--out", out.toString()).errorLine());
        assertEquals("error: --name must be 1-40 letters, digits, '.', '_' or '-', got 'a judge'",
                run(new LabelCommand(), "--judge", "/no/rm", "--name", "a judge", "--records", prompts.toString(), "--out", out.toString()).errorLine());
        assertEquals("error: --out-format must be jsonl or parquet, got 'csv'", run(new GenerateCommand(), "--model", "/no/model", "--prompts", prompts.toString(),
                "--out", out.toString(), "--out-format", "csv").errorLine());
        assertEquals("error: topP must be in (0, 1], got 2.0 (set by --temperature, --top-k, --top-p and --max-new-tokens)",
                run(new GenerateCommand(), "--model", "/no/model", "--prompts", prompts.toString(), "--out", out.toString(), "--top-p", "2").errorLine());
        assertFalse(Files.exists(out), "nothing written");
    }

    @Test
    void missingFilesAreNamedByTheirKeyBeforeSparkStarts() {
        String run = newRun("missing-files");
        assertEquals("error: model.init: /no/init.safetensors does not exist; point model.init at a weights file, e.g. "
                        + "RUN/checkpoints/step-NNNNNNN/weights.safetensors or a weights.safetensors of an SFT run",
                run(new PretrainJob(), pretrain(run, "model.init=/no/init.safetensors")).errorLine());
        assertTrue(run(new PretrainJob(), pretrain(run, "data.train=/no/text.jsonl")).errorLine()
                .contains("data not found: /no/text.jsonl (check data.train"));
        String promptsMissing = run(new PpoJob(), pretrain(run, "ppo.prompts=/no/prompts.jsonl", "ppo.reward=token-frequency:101",
                "ppo.promptsPerIteration=4", "ppo.minibatches=1")).errorLine();
        assertTrue(promptsMissing.contains("data not found: /no/prompts.jsonl (check ppo.prompts,") && !promptsMissing.contains("data.train"), promptsMissing);
        String reward = run(new PpoJob(), pretrain(run, "ppo.prompts=" + prompts.toUri(), "ppo.reward=/no/rm", "ppo.promptsPerIteration=4",
                "ppo.minibatches=1")).errorLine();
        assertTrue(reward.startsWith("error: ppo.reward: /no/rm/weights.safetensors does not exist; point ppo.reward at a reward-job checkpoint directory"),
                reward);
        assertFalse(Files.exists(dir.resolve("missing-files")), "checked before the run directory was made");
    }

    @Test
    void tooMuchMalformedDataIsOneLineNamingTheQuarantineFile() throws Exception {
        List<String> lines = new ArrayList<>(Files.readAllLines(text).subList(0, 20));
        for (int i = 0; i < 10; i++) lines.add("{\"txt\": \"misspelled\"}");
        Path bad = Files.write(dir.resolve("bad.jsonl"), lines);
        String line = run(new PretrainJob(), pretrain(newRun("bad-data"), "data.train=" + bad.toUri())).errorLine();
        assertTrue(line.startsWith("error: 10 of 30 train records (33.3%) are malformed, above data.maxBadFraction = 0.01; see ")
                && line.endsWith("bad-data/quarantine/train.jsonl for each one's file, line and reason"), line);
        String reward = run(new PpoJob(), pretrain(newRun("bad-reward"), "ppo.prompts=" + prompts.toUri(), "ppo.reward=token-frequency:many",
                "ppo.promptsPerIteration=4", "ppo.minibatches=1")).errorLine();
        assertTrue(reward.contains("ppo.reward=token-frequency:ID needs a token id, got 'many'"), reward);
    }

    @Test
    void anUnwritableRunDirectoryIsOneLineBeforeSparkStarts() throws Exception {
        Path file = Files.writeString(dir.resolve("not-a-dir"), "x");
        String line = run(new PretrainJob(), pretrain(file.toUri() + "/run")).errorLine();
        assertTrue(line.startsWith("error: run.dir " + file.toUri() + "/run cannot be created or written (ParentNotDirectoryException")
                && line.endsWith("choose a run.dir you can write, or fix its permissions"), line);
    }

    @Test
    void damagedWeightsAndAResumeWithAnotherModelSizeAreOneLine() throws Exception {
        Path garbage = Files.writeString(dir.resolve("garbage.safetensors"), "these are not weights");
        String line = run(new PretrainJob(), pretrain(newRun("damaged"), "model.init=" + garbage.toUri())).errorLine();
        assertTrue(line.startsWith("error: model.init: " + garbage.toUri() + ": header length") && line.contains("not safetensors or is corrupted"), line);

        String run = newRun("resized");
        Result first = run(new PretrainJob(), pretrain(run));
        assertEquals(0, first.code(), first.err());
        assertTrue(first.out().contains("done: 2 steps, last loss"), first.out());
        line = run(new PretrainJob(), pretrain(run, "run.resume=true", "model.dModel=64", "train.steps=4")).errorLine();
        assertTrue(line.contains("model.dModel is 64 here but 32 in the run") && line.contains("model.init="), line);
        line = run(new PretrainJob(), pretrain(run, "run.resume=true", "run.seed=99", "train.steps=4")).errorLine();
        assertTrue(line.contains("run.seed is 99 here but 1234 in the run"), line);
        // and a fresh run into it names the run and the two ways forward
        line = run(new PretrainJob(), pretrain(run)).errorLine();
        assertTrue(line.contains("already holds run ") && line.contains("choose a new run.dir") && line.contains("run.resume=true"), line);

        Result verbose = run(new PretrainJob(), concat(pretrain(run), "--verbose"));
        assertEquals(2, verbose.code());
        assertTrue(verbose.err().contains("error: run.dir") && verbose.err().contains("\tat org.sparkrlhf.rundir.RunDirectory"), verbose.err());
    }

    @Test
    void ppoEndsWithItsScoreNotALoss() {
        Result r = run(new PpoJob(), pretrain(newRun("ppo"), "ppo.prompts=" + prompts.toUri(), "ppo.reward=token-frequency:101",
                "ppo.criticInit=policy", "ppo.iterations=1", "ppo.promptsPerIteration=4", "ppo.minibatches=1", "ppo.epochs=1",
                "ppo.maxNewTokens=4", "model.contextLength=64"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("done: 1 steps, last score ") && !r.out().contains("loss"), r.out());
    }

    @Test
    void versionAndHelpSayWhatIsTrue() {
        Result v = run(new PretrainJob(), "-V");
        assertEquals(0, v.code());
        assertTrue(v.out().matches("spark-rlhf \\d+\\.\\d+\\.\\d+(-SNAPSHOT)? \\(Spark 3\\.5\\.\\d+, Java 17[^)]*\\)\\R"), v.out());
        Result help = run(new SftJob(), "--help");
        assertTrue(help.out().contains("--verbose") && help.out().contains("spark-submit") && help.out().contains("local-cluster"), help.out());
    }

    private static String[] concat(String[] a, String... more) {
        List<String> l = new ArrayList<>(List.of(a));
        l.addAll(List.of(more));
        return l.toArray(String[]::new);
    }
}
