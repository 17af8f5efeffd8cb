package org.sparkrlhf.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.TaskContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkrlhf.checkpoint.GptWeights;
import org.sparkrlhf.data.DataException;
import org.sparkrlhf.engine.LocalSpark;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.Head;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.training.RewardObjective;
import picocli.CommandLine;

/**
 * generate and score as Spark jobs on real local Spark: responses with log-probs and reward scores in
 * prompt order, bad records quarantined, the same text on a rerun and after a task that failed on
 * its first attempt, scores that match the reward model's own, and the user errors.
 */
class GenerateCommandTest {
    static SparkSession spark;
    static Path policy, reward, prompts;
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void start(@TempDir Path dir) throws IOException {
        spark = LocalSpark.start("local[2,3]"); // up to 3 attempts per task
        GptConfig c = new GptConfig(257, 96, 32, 2, 1, true, java.util.Set.of(Head.LM), 1e-5, 0.02);
        policy = checkpoint(dir.resolve("policy"), Gpt.init(c, DType.FLOAT32, 3), null);
        reward = checkpoint(dir.resolve("reward"), Gpt.init(c.withHeads(Head.REWARD), DType.FLOAT32, 4), "{\"mean\": 0.25, \"std\": 2.0}");
        List<String> lines = new ArrayList<>();
        for (String p : List.of("Name a colour.", "Why is the sky blue?", "Count to three.", "Say hello.", "What is rain?"))
            lines.add(JSON.writeValueAsString(java.util.Map.of("prompt", p)));
        lines.add(2, "{\"prompt\": 42}"); // malformed: set aside, not dropped silently
        prompts = dir.resolve("prompts.jsonl");
        Files.write(prompts, lines, StandardCharsets.UTF_8);
    }

    @AfterAll
    static void stop() {
        if (spark != null) spark.stop();
        Generation.fault = null;
    }

    /** A checkpoint directory as the jobs write it: weights, the run's config.json naming the tokenizer, and a reward model's normalization. */
    static Path checkpoint(Path dir, Gpt model, String norm) throws IOException {
        Files.createDirectories(dir);
        try (OutputStream o = Files.newOutputStream(dir.resolve("weights.safetensors"))) {
            GptWeights.write(o, model.config(), model.parameters());
        }
        Files.writeString(dir.resolve("config.json"), "{\"model\": {\"tokenizer\": \"bytes\"}}");
        if (norm != null) Files.writeString(dir.resolve(ModelFiles.REWARD_NORM), norm);
        return dir;
    }

    /** The command with the test's defaults; {@code more} are option/value pairs that replace or add to them. */
    static GenerateCommand generate(Path out, String... more) {
        java.util.Map<String, String> o = new java.util.LinkedHashMap<>();
        o.put("--model", policy.toString());
        o.put("--prompts", prompts.toString());
        o.put("--out", out.toString());
        o.put("--reward", reward.toString());
        o.put("--samples", "2");
        o.put("--max-new-tokens", "8");
        o.put("--top-k", "40");
        o.put("--partitions", "2");
        o.put("--max-bad-fraction", "0.2"); // the one malformed prompt of six
        for (int i = 0; i < more.length; i += 2) o.put(more[i], more[i + 1]);
        List<String> args = new ArrayList<>();
        o.forEach((k, v) -> {
            args.add(k);
            args.add(v);
        });
        GenerateCommand g = new GenerateCommand();
        new CommandLine(g).parseArgs(args.toArray(String[]::new));
        return g;
    }

    static List<JsonNode> rows(Path dir) throws IOException {
        List<Path> parts;
        try (var s = Files.list(dir)) {
            parts = s.filter(p -> p.getFileName().toString().startsWith("part-")).sorted().toList();
        }
        List<JsonNode> out = new ArrayList<>();
        for (Path p : parts) for (String l : Files.readAllLines(p)) if (!l.isBlank()) out.add(JSON.readTree(l));
        return out;
    }

    @Test
    void responsesComeInPromptOrderWithLogProbsAndScoresAndRerunIdentically(@TempDir Path dir) throws Exception {
        assertEquals(10, generate(dir.resolve("a")).run(spark));
        List<JsonNode> a = rows(dir.resolve("a/responses"));
        assertEquals(10, a.size());
        for (int i = 0; i < a.size(); i++) {
            JsonNode r = a.get(i);
            assertEquals(i / 2, r.get("prompt_index").asInt());
            assertEquals(i % 2, r.get("sample").asInt());
            assertEquals(r.get("response_tokens").size(), r.get("logprobs").size());
            assertTrue(r.get("response_tokens").size() >= 1 && r.get("response_tokens").size() <= 8);
            for (JsonNode lp : r.get("logprobs")) assertTrue(lp.asDouble() <= 0);
            assertEquals((r.get("score").asDouble() - 0.25) / 2.0, r.get("score_normalized").asDouble(), 1e-12);
        }
        assertEquals("Count to three.", a.get(4).get("prompt").asText()); // the malformed record (line 3) is not in the numbering
        JsonNode info = JSON.readTree(dir.resolve("a/generate.json").toFile());
        assertEquals(6, info.get("prompt_records").asInt());
        assertEquals(1, info.get("quarantined").asInt());
        assertTrue(Files.readString(dir.resolve("a/quarantine/prompts.jsonl")).contains("\"line\":3"));

        generate(dir.resolve("b")).run(spark);
        assertEquals(a, rows(dir.resolve("b/responses")), "a rerun writes the same text");
        generate(dir.resolve("c"), "--seed", "99").run(spark);
        assertTrue(!a.equals(rows(dir.resolve("c/responses"))), "another seed, other responses");
    }

    /** A task that dies on its first attempt (thrown inside it, partition 1 only) is retried by Spark and writes the same responses. */
    @Test
    void aRetriedTaskWritesTheSameResponses(@TempDir Path dir) throws Exception {
        generate(dir.resolve("clean")).run(spark);
        AtomicInteger failed = new AtomicInteger();
        SparkListener l = new SparkListener() {
            @Override
            public void onTaskEnd(SparkListenerTaskEnd e) {
                if (!e.taskInfo().successful() && e.reason().toString().contains("injected fault")) failed.incrementAndGet();
            }
        };
        spark.sparkContext().addSparkListener(l);
        Generation.fault = (TaskContext t) -> {
            if (t.partitionId() == 1 && t.attemptNumber() == 0 && t.stageAttemptNumber() == 0 && t.getLocalProperty("rlhf.test.fault") == null)
                throw new IllegalStateException("injected fault in partition 1, first attempt");
        };
        try {
            generate(dir.resolve("retried")).run(spark);
        } finally {
            Generation.fault = null;
            spark.sparkContext().removeSparkListener(l);
        }
        Thread.sleep(200); // listener events arrive asynchronously
        assertTrue(failed.get() >= 1, "the injected failure happened and Spark saw it");
        assertEquals(rows(dir.resolve("clean/responses")), rows(dir.resolve("retried/responses")));
    }

    @Test
    void scoreGivesTheRewardModelsOwnScoresRawAndNormalized(@TempDir Path dir) throws Exception {
        Path records = dir.resolve("pairs.jsonl");
        Files.write(records, List.of("{\"prompt\": \"Say hello.\", \"response\": \"hello there\"}",
                "{\"prompt\": \"Count to three.\", \"response\": \"one two three\"}", "{\"prompt\": \"x\"}"), StandardCharsets.UTF_8);
        ScoreCommand s = new ScoreCommand();
        new CommandLine(s).parseArgs("--reward", reward.toString(), "--records", records.toString(), "--out", dir.resolve("s").toString(),
                "--out-format", "parquet", "--max-bad-fraction", "0.5", "--partitions", "2");
        assertEquals(2, s.run(spark));
        List<org.apache.spark.sql.Row> got = spark.read().parquet(dir.resolve("s/scores").toString()).orderBy("index").collectAsList();
        Gpt rm = ModelFiles.load(new org.apache.hadoop.conf.Configuration(), "test", reward.resolve("weights.safetensors").toString());
        org.sparkrlhf.tokenizer.Tokenizer tok = org.sparkrlhf.tokenizer.Tokenizers.create("bytes");
        String[][] pairs = {{"Say hello.", "hello there"}, {"Count to three.", "one two three"}};
        for (int i = 0; i < 2; i++) {
            int[] p = tok.encode(org.sparkrlhf.data.ChatTemplate.prompt(List.of(new org.sparkrlhf.data.ChatTemplate.Turn("user", pairs[i][0]))));
            int[] r = tok.encode(pairs[i][1]);
            int[] seq = java.util.Arrays.copyOf(p, p.length + r.length + 1);
            System.arraycopy(r, 0, seq, p.length, r.length);
            seq[seq.length - 1] = tok.eosToken();
            double expected = RewardObjective.score(rm, List.of(seq), 4)[0];
            org.apache.spark.sql.Row row = got.get(i);
            assertEquals(expected, row.getDouble(row.fieldIndex("score")), 1e-5);
            assertEquals((expected - 0.25) / 2.0, row.getDouble(row.fieldIndex("score_normalized")), 1e-5);
        }
        assertTrue(Files.readString(dir.resolve("s/quarantine/records.jsonl")).contains("missing field 'response'"));
    }

    /** Best-of-n: each prompt's best-scoring sample alone, and the output is SFT data as it stands (rejection-sampling fine-tuning). */
    @Test
    void keepBestWritesEachPromptsBestSampleAsSftData(@TempDir Path dir) throws Exception {
        generate(dir.resolve("all"), "--samples", "3").run(spark);
        assertEquals(5, generate(dir.resolve("best"), "--samples", "3", "--keep-best", "true").run(spark));
        List<JsonNode> all = rows(dir.resolve("all/responses")), best = rows(dir.resolve("best/responses"));
        for (JsonNode b : best) {
            double max = all.stream().filter(a -> a.get("prompt_index").asLong() == b.get("prompt_index").asLong())
                    .mapToDouble(a -> a.get("score").asDouble()).max().orElseThrow();
            assertEquals(max, b.get("score").asDouble(), 0.0, "prompt " + b.get("prompt_index"));
        }
        TrainingLoop.Outcome o = SftJob.train(spark, org.sparkrlhf.config.ConfigLoader.load(null, "test", List.of(
                "run.dir=" + dir.resolve("sft").toUri(), "data.train=" + dir.resolve("best/responses").toUri(), "data.evalFraction=0",
                "model.init=" + policy.resolve("weights.safetensors").toUri(), "model.contextLength=96", "model.dModel=32", "model.nHeads=2",
                "model.nLayers=1", "train.steps=2", "train.globalBatch=4", "train.microBatch=2", "train.partitions=2", "train.warmupSteps=0")), null);
        assertEquals(2, o.step());
        GenerateCommand noReward = generate(dir.resolve("x"), "--keep-best", "true");
        noReward.reward = null;
        assertTrue(assertThrows(IllegalArgumentException.class, () -> noReward.run(spark)).getMessage().contains("give --reward"));
    }

    @Test
    void mistakesAreNamed(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("exists"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> generate(dir.resolve("exists")).run(spark)).getMessage().contains("exists"));
        GenerateCommand notReward = generate(dir.resolve("n"), "--reward", policy.toString());
        assertTrue(assertThrows(ModelFileException.class, () -> notReward.run(spark)).getMessage().contains("not a reward model"));
        GenerateCommand strict = generate(dir.resolve("strict"), "--max-bad-fraction", "0");
        String m = assertThrows(DataException.class, () -> strict.run(spark)).getMessage();
        assertTrue(m.contains("quarantine") && m.contains("--max-bad-fraction = 0.0"), m);
        GenerateCommand badP = generate(dir.resolve("p"), "--top-p", "1.5");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> badP.run(spark)).getMessage().contains("topP"));
        GenerateCommand tooLong = generate(dir.resolve("l"), "--max-new-tokens", "96");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> tooLong.run(spark)).getMessage().contains("no room for a prompt"));
    }
}
