package org.sparkrlhf.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkrlhf.checkpoint.CheckpointStore;
import org.sparkrlhf.checkpoint.GptWeights;
import org.sparkrlhf.config.ConfigLoader;
import org.sparkrlhf.config.JobConfig;
import org.sparkrlhf.engine.LocalSpark;
import org.sparkrlhf.tensor.DType;

class PpoJobTest {
    static SparkSession spark;
    static java.nio.file.Path prompts, ptxText, markedPrompts;

    @BeforeAll
    static void start(@TempDir java.nio.file.Path dir) throws Exception {
        spark = LocalSpark.start("local[2]");
        ObjectMapper json = new ObjectMapper();
        List<String> lines = new ArrayList<>();
        for (String s : BrownText.sentences("ca06")) {
            String[] w = s.split(" ");
            if (w.length >= 3) lines.add(json.writeValueAsString(Map.of("prompt", String.join(" ", List.of(w).subList(0, 3)))));
        }
        lines.add("{\"prompt\": 42}");
        prompts = dir.resolve("prompts.jsonl");
        Files.write(prompts, lines, StandardCharsets.UTF_8);
        List<String> marked = new ArrayList<>(); // every third prompt a red-team one; one mark of the wrong type
        for (int i = 0; i < lines.size() - 1; i++) {
            com.fasterxml.jackson.databind.node.ObjectNode n = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(lines.get(i));
            if (i % 3 == 0) n.put("harmful", true);
            marked.add(json.writeValueAsString(n));
        }
        marked.add("{\"prompt\": \"the jury said\", \"harmful\": \"yes\"}");
        markedPrompts = dir.resolve("prompts-marked.jsonl");
        Files.write(markedPrompts, marked, StandardCharsets.UTF_8);
        List<String> texts = new ArrayList<>();
        for (String s : BrownText.sentences("ca07")) texts.add(json.writeValueAsString(Map.of("text", s)));
        ptxText = dir.resolve("ptx.jsonl");
        Files.write(ptxText, texts, StandardCharsets.UTF_8);
    }

    @AfterAll
    static void stop() {
        if (spark != null) spark.stop();
    }

    static JobConfig config(String run, boolean resume, String... more) {
        List<String> o = new ArrayList<>(List.of("run.dir=" + run, "run.resume=" + resume, "ppo.prompts=" + prompts.toUri(),
                "ppo.reward=token-frequency:101", "ppo.criticInit=policy", "ppo.iterations=4", "ppo.promptsPerIteration=8",
                "ppo.maxNewTokens=8", "ppo.epochs=2", "ppo.minibatches=2", "ppo.policyLr=0.002", "ppo.criticLr=0.002",
                "model.contextLength=96", "model.dModel=32", "model.nHeads=2", "model.nLayers=1", "train.partitions=2",
                "train.microBatch=4", "train.checkpointEvery=2", "train.logEvery=1", "data.maxBadFraction=0.05",
                "ppo.ptxCoef=0.2", "ppo.ptxData=" + ptxText.toUri(), "ppo.ptxPerMinibatch=4"));
        o.addAll(List.of(more));
        return ConfigLoader.load(null, "test", o);
    }

    static float[] finalPolicy(String run) throws Exception {
        Path p = new Path(run);
        FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
        CheckpointStore.Checkpoint c = new CheckpointStore(fs, p, 2, true).latestValid().orElseThrow();
        assertEquals(4, c.step());
        return GptWeights.read(c.open("policy.safetensors"), "policy", 0, DType.FLOAT32).parameters().flat().toFloatArray();
    }

    /** PPO with LoRA: the base stays what it was (it is the reference), only adapters and the heads move. */
    @Test
    void loraPpoTrainsAdaptersOnTopOfAFrozenReference(@TempDir java.nio.file.Path dir) throws Exception {
        String run = dir.resolve("lora").toUri().toString();
        List<String> o = new ArrayList<>(List.of("run.dir=" + run, "ppo.prompts=" + prompts.toUri(), "ppo.reward=token-frequency:101",
                "ppo.criticInit=policy", "ppo.iterations=2", "ppo.promptsPerIteration=8", "ppo.maxNewTokens=8", "ppo.epochs=2",
                "ppo.minibatches=2", "ppo.policyLr=0.01", "ppo.criticLr=0.01", "model.contextLength=96", "model.dModel=32", "model.nHeads=2",
                "model.nLayers=1", "train.partitions=2", "train.microBatch=4", "train.checkpointEvery=2", "data.maxBadFraction=0.05",
                "model.lora.rank=4", "model.lora.targets=[c_attn, c_fc]"));
        JobConfig cfg = ConfigLoader.load(null, "test", o);
        PpoJob.train(spark, cfg, null);
        Path p = new Path(run);
        FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
        CheckpointStore.Checkpoint c = new CheckpointStore(fs, p, 2, true).latestValid().orElseThrow();
        GptWeights.Loaded file = GptWeights.read(c.open("policy.safetensors"), "policy", 0, DType.FLOAT32);
        org.junit.jupiter.api.Assertions.assertTrue(file.adaptersOnly() && file.base().equals("seed:" + cfg.run().seed()), "adapters only, on the seed's init");
        org.sparkrlhf.model.Gpt policy = ModelFiles.load(spark.sparkContext().hadoopConfiguration(), "test",
                new Path(c.dir(), "policy.safetensors").toString());
        org.sparkrlhf.model.Gpt critic = ModelFiles.load(spark.sparkContext().hadoopConfiguration(), "test", new Path(c.dir(), "critic.safetensors").toString());
        org.junit.jupiter.api.Assertions.assertTrue(critic.config().has(org.sparkrlhf.model.Head.VALUE) && critic.config().lora() != null);
        assertEquals(4, policy.config().lora().rank());
        org.sparkrlhf.model.Gpt start = org.sparkrlhf.model.Gpt.init(cfg.gptConfig(), DType.FLOAT32, cfg.run().seed());
        for (org.sparkrlhf.model.ParameterLayout.Entry e : org.sparkrlhf.model.ParameterLayout.of(cfg.gptConfig().base()).entries().values())
            org.junit.jupiter.api.Assertions.assertArrayEquals(start.parameters().get(e.name()).toFloatArray(), policy.parameters().get(e.name()).toFloatArray(),
                    "frozen base " + e.name());
        org.junit.jupiter.api.Assertions.assertTrue(policy.parameters().get("h.0.attn.c_attn.lora_B").sumOfSquares() > 0, "the policy's adapters trained");
        org.junit.jupiter.api.Assertions.assertTrue(!policy.parameters().layout().contains("h.0.attn.c_proj.lora_A"), "only the named targets are adapted");

        // resumed from its adapters-only checkpoint, it ends bit-identically
        String cut = dir.resolve("cut").toUri().toString();
        List<String> first = new ArrayList<>(o), second = new ArrayList<>(o);
        first.replaceAll(x -> x.startsWith("run.dir=") ? "run.dir=" + cut : x.equals("ppo.iterations=2") ? "ppo.iterations=1" : x.equals("train.checkpointEvery=2") ? "train.checkpointEvery=1" : x);
        second.replaceAll(x -> x.startsWith("run.dir=") ? "run.dir=" + cut : x.equals("train.checkpointEvery=2") ? "train.checkpointEvery=1" : x);
        second.add("run.resume=true");
        PpoJob.train(spark, ConfigLoader.load(null, "test", first), null);
        PpoJob.train(spark, ConfigLoader.load(null, "test", second), null);
        CheckpointStore.Checkpoint resumed = new CheckpointStore(fs, new Path(cut), 2, true).latestValid().orElseThrow();
        assertEquals(2, resumed.step());
        for (String f : new String[]{"policy.safetensors", "critic.safetensors"})
            org.junit.jupiter.api.Assertions.assertArrayEquals(c.open(f).readAllBytes(), resumed.open(f).readAllBytes(), f + " after a resume");
    }

    @Test
    void resumedPpoIsBitIdenticalAndTheRunRecordsItself(@TempDir java.nio.file.Path dir) throws Exception {
        String ref = dir.resolve("ref").toUri().toString(), run = dir.resolve("run").toUri().toString();
        PpoJob.train(spark, config(ref, false), null);
        float[] expected = finalPolicy(ref);

        assertThrows(IllegalStateException.class, () -> PpoJob.train(spark, config(run, false), r -> {
            if (r.iteration() == 3) throw new IllegalStateException("simulated crash");
        }));
        List<Long> ran = new ArrayList<>();
        PpoJob.train(spark, config(run, true), r -> ran.add(r.iteration()));
        assertEquals(List.of(3L, 4L), ran, "resumed from the iteration-2 checkpoint");
        assertArrayEquals(expected, finalPolicy(run));

        // ppo.seed: unset it is run.seed; set apart, the same models sample other rollouts (a PPO run repeated)
        String same = dir.resolve("same").toUri().toString(), other = dir.resolve("other").toUri().toString();
        PpoJob.train(spark, config(same, false, "ppo.seed=" + config(ref, false).run().seed()), null);
        assertArrayEquals(expected, finalPolicy(same), "ppo.seed = run.seed is the default");
        PpoJob.train(spark, config(other, false, "ppo.seed=99"), null);
        assertTrue(!java.util.Arrays.equals(expected, finalPolicy(other)), "another PPO seed, another run");

        List<String> metrics = Files.readAllLines(dir.resolve("run/metrics/ppo.jsonl"));
        assertEquals(4, metrics.size());
        for (String k : new String[]{"score_mean", "kl", "beta", "entropy", "approx_kl", "clip_fraction", "ratio_max",
                "value_explained_variance", "response_length", "eos_rate", "sampling_seconds", "training_seconds", "overhead_seconds", "ptx_loss",
                "critic_seconds", "critic_bytes_per_rank"})
            assertTrue(metrics.get(3).contains("\"" + k + "\""), k + " in " + metrics.get(3));
        List<String> samples = Files.readAllLines(dir.resolve("run/samples.jsonl"));
        assertTrue(samples.size() >= 4 && samples.get(0).contains("\"proxy\"") && samples.get(0).contains("<|user|>"), samples.get(0));
        assertEquals(1, Files.readAllLines(dir.resolve("run/quarantine/prompts.jsonl")).size());
        com.fasterxml.jackson.databind.JsonNode config = new ObjectMapper().readTree(dir.resolve("run/config.json").toFile());
        assertEquals("token-frequency:101", config.path("job").path("ppo").path("reward").asText(), "the run records its settings");
        assertEquals(32, config.path("model").path("dModel").asInt(), "and the policy's shape");
    }

    /** GRPO and RLOO: no critic in the checkpoints or on the ranks, and a resume as exact as PPO's. */
    @Test
    void criticFreeMethodsCheckpointNoCriticAndResumeBitExactly(@TempDir java.nio.file.Path dir) throws Exception {
        for (String method : new String[]{"grpo", "rloo"}) {
            String ref = dir.resolve(method + "-ref").toUri().toString(), run = dir.resolve(method).toUri().toString();
            crashAtThreeResumeAndCompare(ref, run, method, "ppo.advantage=" + method, "ppo.groupSize=2");

            java.nio.file.Path ckpt = dir.resolve(method + "/checkpoints").toFile().listFiles()[0].toPath();
            assertTrue(Files.exists(ckpt.resolve("policy.safetensors")) && !Files.exists(ckpt.resolve("critic.safetensors"))
                    && !Files.exists(ckpt.resolve("critic_optimizer.safetensors")), method + ": no critic checkpointed in " + ckpt);
            String last = Files.readAllLines(dir.resolve(method + "/metrics/ppo.jsonl")).get(3);
            com.fasterxml.jackson.databind.JsonNode row = new ObjectMapper().readTree(last);
            assertEquals(method, row.path("advantage").asText());
            assertTrue(row.path("critic_bytes_saved_per_rank").asLong() > 0 && row.path("value_loss").asDouble() == 0 && !row.has("critic_seconds"), last);
            // the method shapes the maths: a resume under another is refused
            org.sparkrlhf.rundir.RunDirectoryException e = assertThrows(org.sparkrlhf.rundir.RunDirectoryException.class,
                    () -> PpoJob.train(spark, config(run, true, "ppo.advantage=gae", "ppo.iterations=5"), null));
            assertTrue(e.getMessage().contains("ppo.advantage is \"gae\" here but \"" + method + "\" in the run"), e.getMessage());
        }
    }

    /** Safe RLHF: lambda logged every iteration, kept in the checkpoint, and a resume that ends bit-identically. */
    @Test
    void safetyConstrainedPpoLogsLambdaAndResumesBitExactly(@TempDir java.nio.file.Path dir) throws Exception {
        String ref = dir.resolve("ref").toUri().toString(), run = dir.resolve("run").toUri().toString();
        crashAtThreeResumeAndCompare(ref, run, "safe RLHF (lambda restored)", "ppo.safety=lagrangian", "ppo.harmlessness=token-frequency:32",
                "ppo.costLimit=0.01", "ppo.lambdaInit=0.5", "ppo.lambdaLr=2", "ppo.lambdaKp=1");
        List<com.fasterxml.jackson.databind.JsonNode> rows = new ArrayList<>();
        for (String l : Files.readAllLines(dir.resolve("run/metrics/ppo.jsonl"))) rows.add(new ObjectMapper().readTree(l));
        assertEquals(0.5, rows.get(0).path("lambda").asDouble(), 0, "the first iteration is scored with lambda's start");
        for (com.fasterxml.jackson.databind.JsonNode row : rows)
            assertTrue(row.has("cost_mean") && row.has("reward_mean") && row.path("safety").asText().equals("lagrangian"), row.toString());
        // lambda moved as its rule says: I_{i+1} = clamp(I_i + 2 (cost_i - 0.01)), lambda_{i+1} = clamp(I_{i+1} + 1 (cost_i - 0.01)), I_1 = 0.5;
        // the resume above matched bit for bit only if the checkpoint kept the integral as well as lambda
        double integral = 0.5;
        for (int i = 0; i + 1 < rows.size(); i++) {
            double violation = rows.get(i).path("cost_mean").asDouble() - 0.01;
            integral = Math.max(0, Math.min(10, integral + 2 * violation));
            assertEquals(Math.max(0, Math.min(10, integral + violation)), rows.get(i + 1).path("lambda").asDouble(), 1e-9, "iteration " + (i + 2));
        }
        java.nio.file.Path ckpt = dir.resolve("run/checkpoints").toFile().listFiles()[0].toPath();
        String state = Files.readString(ckpt.resolve("state.json"));
        assertTrue(state.contains("\"lambda\"") && state.contains("\"lambdaIntegral\""), "the checkpoint keeps lambda and its integral: " + state);
        org.sparkrlhf.rundir.RunDirectoryException e = assertThrows(org.sparkrlhf.rundir.RunDirectoryException.class,
                () -> PpoJob.train(spark, config(run, true, "ppo.iterations=5"), null));
        assertTrue(e.getMessage().contains("ppo.safety"), e.getMessage());
    }

    /**
     * The harmful prompts' own limit: their answers' mean cost and multiplier logged every iteration,
     * the multiplier moving by its rule, both multipliers kept in the checkpoint (a resume ends
     * bit-identically), and the mistakes around it named.
     */
    @Test
    void harmfulPromptsLimitHasItsOwnMultiplierLoggedAndResumedBitExactly(@TempDir java.nio.file.Path dir) throws Exception {
        String ref = dir.resolve("ref").toUri().toString(), run = dir.resolve("run").toUri().toString();
        String[] settings = {"ppo.prompts=" + markedPrompts.toUri(), "ppo.safety=lagrangian", "ppo.harmlessness=token-frequency:32",
                "ppo.costLimit=0.5", "ppo.harmfulCostLimit=-0.05", "ppo.lambdaInit=0.5", "ppo.lambdaLr=2", "ppo.lambdaKp=1"};
        crashAtThreeResumeAndCompare(ref, run, "safe RLHF with a harmful-prompt limit (both multipliers restored)", settings);
        List<com.fasterxml.jackson.databind.JsonNode> rows = new ArrayList<>();
        for (String l : Files.readAllLines(dir.resolve("run/metrics/ppo.jsonl"))) rows.add(new ObjectMapper().readTree(l));
        assertEquals(0.0, rows.get(0).path("harmful_lambda").asDouble(-1), 0, "the harmful prompts' multiplier starts at 0");
        // mu moved as its rule says, from the harmful answers' cost alone: J_{i+1} = clamp(J_i + 2 (h_i + 0.05)), mu_{i+1} = clamp(J_{i+1} + (h_i + 0.05));
        // the limit is under any cost, so mu rises whenever a batch holds harmful prompts, and a resume that lost J would show
        double integral = 0;
        int withHarmful = 0;
        for (int i = 0; i + 1 < rows.size(); i++) {
            com.fasterxml.jackson.databind.JsonNode row = rows.get(i);
            assertEquals(-0.05, row.path("harmful_cost_limit").asDouble(), 0, row.toString());
            double mu = row.path("harmful_lambda").asDouble();
            if (row.has("harmful_cost_mean")) { // 8 prompts an iteration, a third of them marked: most batches hold some
                withHarmful++;
                double violation = row.path("harmful_cost_mean").asDouble() + 0.05;
                integral = Math.max(0, Math.min(10, integral + 2 * violation));
                mu = Math.max(0, Math.min(10, integral + violation));
            }
            assertEquals(mu, rows.get(i + 1).path("harmful_lambda").asDouble(), 1e-9, "iteration " + (i + 2));
        }
        assertTrue(withHarmful > 0, "some batch held harmful prompts: " + rows);
        assertTrue(rows.get(rows.size() - 1).path("harmful_lambda").asDouble() > 0, "mu rose while the harmful answers cost over their limit");
        java.nio.file.Path ckpt = dir.resolve("run/checkpoints").toFile().listFiles()[0].toPath();
        String state = Files.readString(ckpt.resolve("state.json"));
        assertTrue(state.contains("\"harmfulLambda\"") && state.contains("\"harmfulLambdaIntegral\""), "the checkpoint keeps mu and its integral: " + state);
        assertTrue(Files.readString(dir.resolve("run/quarantine/prompts.jsonl")).contains("must be true or false, got \\\"yes\\\""),
                "a mark of the wrong type is a bad record, named");

        String unmarked = dir.resolve("unmarked").toUri().toString();
        List<String> noMarks = new ArrayList<>(List.of(settings));
        noMarks.set(0, "ppo.prompts=" + prompts.toUri());
        org.sparkrlhf.config.ConfigException e = assertThrows(org.sparkrlhf.config.ConfigException.class,
                () -> PpoJob.train(spark, config(unmarked, false, noMarks.toArray(String[]::new)), null));
        assertTrue(e.getMessage().contains("ppo.harmfulCostLimit is set but no prompt") && e.getMessage().contains("\"harmful\": true"), e.getMessage());
    }

    /** The early stop: iterations cut short are logged with the updates that ran, and a resume ends bit-identically. */
    @Test
    void earlyStoppedPpoLogsItsUpdatesAndResumesBitExactly(@TempDir java.nio.file.Path dir) throws Exception {
        String ref = dir.resolve("ref").toUri().toString(), run = dir.resolve("run").toUri().toString();
        crashAtThreeResumeAndCompare(ref, run, "early-stopped PPO", "ppo.maxUpdateKl=0.002");
        List<Integer> updates = new ArrayList<>();
        for (String l : Files.readAllLines(dir.resolve("run/metrics/ppo.jsonl"))) {
            com.fasterxml.jackson.databind.JsonNode row = new ObjectMapper().readTree(l);
            updates.add(row.path("updates").asInt(-1));
            assertTrue(row.path("approx_kl").asDouble() <= 0.002, "only updates within the limit ran and are counted: " + l);
        }
        assertTrue(updates.stream().allMatch(u -> u >= 1 && u <= 4) && updates.stream().anyMatch(u -> u < 4),
                "2 epochs x 2 minibatches, some iterations cut short: " + updates);
        org.sparkrlhf.rundir.RunDirectoryException e = assertThrows(org.sparkrlhf.rundir.RunDirectoryException.class,
                () -> PpoJob.train(spark, config(run, true, "ppo.maxUpdateKl=0.01", "ppo.iterations=5"), null));
        assertTrue(e.getMessage().contains("ppo.maxUpdateKl is 0.01 here but 0.002 in the run"), e.getMessage());
    }

    /** A reference run with {@code settings}, then one that crashes in iteration 3 and resumes: it resumes from the iteration-2 checkpoint and ends bit-identically. */
    private static void crashAtThreeResumeAndCompare(String ref, String run, String what, String... settings) throws Exception {
        PpoJob.train(spark, config(ref, false, settings), null);
        float[] expected = finalPolicy(ref);
        assertThrows(IllegalStateException.class, () -> PpoJob.train(spark, config(run, false, settings), r -> {
            if (r.iteration() == 3) throw new IllegalStateException("simulated crash");
        }));
        List<Long> ran = new ArrayList<>();
        PpoJob.train(spark, config(run, true, settings), r -> ran.add(r.iteration()));
        assertEquals(List.of(3L, 4L), ran, what + ": resumed from the iteration-2 checkpoint");
        assertArrayEquals(expected, finalPolicy(run), what + ": bit-identical after the resume");
    }
}
