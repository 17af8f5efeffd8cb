package org.sparkrlhf.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkrlhf.config.ConfigLoader;
import org.sparkrlhf.engine.LocalSparkTest;

class RewardJobTest extends LocalSparkTest {
    /** Annotators prefer well-formed text to the same text shouted in capitals: a signal a small model can learn. */
    @Test
    void learnsPreferencesAndReportsHeldOutMetrics(@TempDir java.nio.file.Path dir) throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<String> lines = new ArrayList<>();
        List<String> sentences = BrownText.sentences("ca04", "ca05");
        for (int i = 0; i + 1 < sentences.size() && lines.size() < 400; i++) {
            String s = sentences.get(i);
            if (s.length() < 20) continue;
            String text = s.substring(0, Math.min(30, s.length()));
            String half = text.substring(0, text.length() / 2).toUpperCase() + text.substring(text.length() / 2);
            String annotator = "a" + (i % 3), criterion = i % 2 == 0 ? "helpfulness" : "harmlessness";
            if (i % 4 == 0)
                lines.add(json.writeValueAsString(Map.of("prompt", "Say something.", "responses", List.of(half, text.toUpperCase(), text),
                        "ranking", List.of(2, 0, 1), "annotator", annotator, "criterion", criterion)));
            else
                lines.add(json.writeValueAsString(Map.of("prompt", "Say something.", "chosen", text, "rejected", text.toUpperCase(),
                        "annotator", annotator, "criterion", criterion)));
        }
        lines.add("{\"prompt\":\"Q\",\"responses\":[\"a\",\"b\"],\"ranking\":[1,1]}");
        Files.write(dir.resolve("prefs.jsonl"), lines, StandardCharsets.UTF_8);

        // with LoRA adapters the reward model learns the same preference; its checkpoint holds the adapters and the score head
        TrainingLoop.Outcome lo = RewardJob.train(spark, ConfigLoader.load(null, "test", List.of("run.dir=" + dir.resolve("lora").toUri(),
                "data.train=" + dir.resolve("prefs.jsonl").toUri(), "data.evalFraction=0.2", "model.contextLength=96", "model.dModel=32",
                "model.nHeads=2", "model.nLayers=1", "model.lora.rank=4", "train.steps=20", "train.globalBatch=8", "train.microBatch=4",
                "train.warmupSteps=2", "train.lr=0.01", "train.checkpointEvery=20", "data.maxBadFraction=0.05")), null);
        assertEquals(20, lo.step());
        JsonNode loraEval = json.readTree(dir.resolve("lora/eval/reward-step-20.json").toFile());
        assertTrue(loraEval.get("accuracy").asDouble() > 0.7, "LoRA reward model's held-out accuracy: " + loraEval);
        org.sparkrlhf.checkpoint.GptWeights.Loaded adapters;
        try (var in = Files.newInputStream(dir.resolve("lora/checkpoints/step-0000020/weights.safetensors"))) {
            adapters = org.sparkrlhf.checkpoint.GptWeights.read(in, "rm", 0, org.sparkrlhf.tensor.DType.FLOAT32);
        }
        assertTrue(adapters.adaptersOnly() && adapters.parameters().layout().contains("score.weight"), "adapters and the score head only");
        assertTrue(ModelFiles.rewardModel(new org.apache.hadoop.conf.Configuration(), dir.resolve("lora/checkpoints/step-0000020").toString())
                .config().has(org.sparkrlhf.model.Head.REWARD), "PPO reads it as a reward model, on its base");

        List<Double> acc = new ArrayList<>();
        TrainingLoop.Outcome o = RewardJob.train(spark, ConfigLoader.load(null, "test", List.of("run.dir=" + dir.resolve("run").toUri(),
                "data.train=" + dir.resolve("prefs.jsonl").toUri(), "data.evalFraction=0.2", "model.contextLength=96", "model.dModel=32",
                "model.nHeads=2", "model.nLayers=1", "train.steps=30", "train.globalBatch=8", "train.microBatch=4", "train.warmupSteps=3",
                "train.lr=0.003", "train.logEvery=10", "train.checkpointEvery=10", "data.maxBadFraction=0.05")), r -> acc.add(r.accuracy()));
        assertEquals(30, o.step());
        JsonNode eval = json.readTree(dir.resolve("run/eval/reward-step-30.json").toFile());
        assertTrue(eval.get("pairs").asInt() > 30, eval.toString());
        assertTrue(eval.get("accuracy").asDouble() > 0.8, "held-out accuracy: " + eval);
        assertTrue(eval.get("roc_auc").asDouble() > 0.7, eval.toString());
        assertTrue(eval.has("ece") && eval.get("calibration").size() > 0, eval.toString());
        assertEquals(3, eval.get("accuracy_by_annotator").size(), eval.toString());
        assertTrue(eval.get("accuracy_by_criterion").has("harmlessness"), eval.toString());
        // the checkpoint carries the normalization statistics PPO needs
        java.nio.file.Path ckpt = dir.resolve("run/checkpoints/step-0000030");
        JsonNode norm = json.readTree(ckpt.resolve("reward_norm.json").toFile());
        assertTrue(norm.get("std").asDouble() > 0, norm.toString());
        String metrics = Files.readString(dir.resolve("run/metrics/reward.jsonl"));
        assertTrue(metrics.contains("\"eval_accuracy\""), metrics);
        assertEquals(1, Files.readAllLines(dir.resolve("run/quarantine/train.jsonl")).size()
                + (Files.exists(dir.resolve("run/quarantine/eval.jsonl")) ? Files.readAllLines(dir.resolve("run/quarantine/eval.jsonl")).size() : 0));
    }
    /**
     * Both responses safe, one preferred (a clean answer over a refusal, say): Bradley-Terry alone
     * sets the worse one below 0, and Safe RLHF's sign term keeps both above it.
     */
    @Test
    void safetyLabelsPlaceTheScoresZeroBetweenSafeAndUnsafe(@TempDir java.nio.file.Path dir) throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<String> lines = new ArrayList<>();
        for (String s : BrownText.sentences("ca04", "ca05")) {
            if (s.length() < 20 || lines.size() >= 300) continue;
            String text = s.substring(0, Math.min(30, s.length()));
            lines.add(json.writeValueAsString(Map.of("prompt", "Say something.", "chosen", text, "rejected", text.toUpperCase(),
                    "safe", List.of(true, true), "criterion", "harmlessness")));
        }
        Files.write(dir.resolve("prefs.jsonl"), lines, StandardCharsets.UTF_8);
        double[] signAccuracy = new double[2];
        for (int w = 0; w <= 1; w++) {
            RewardJob.train(spark, ConfigLoader.load(null, "test", List.of("run.dir=" + dir.resolve("w" + w).toUri(),
                    "data.train=" + dir.resolve("prefs.jsonl").toUri(), "data.evalFraction=0.2", "model.contextLength=96", "model.dModel=32",
                    "model.nHeads=2", "model.nLayers=1", "train.steps=30", "train.globalBatch=8", "train.microBatch=4", "train.warmupSteps=3",
                    "train.lr=0.003", "train.checkpointEvery=30", "reward.safetyLabelWeight=" + w)), null);
            JsonNode eval = json.readTree(dir.resolve("w" + w + "/eval/reward-step-30.json").toFile());
            assertTrue(eval.get("accuracy").asDouble() > 0.8, "the pairs are learnt either way: " + eval);
            assertEquals(2 * eval.get("pairs").asInt(), eval.get("safety_labelled").asInt(), eval.toString());
            signAccuracy[w] = eval.get("safety_sign_accuracy").asDouble();
        }
        assertTrue(signAccuracy[0] < 0.75, "without the term the rejected safe answers fall below 0: " + signAccuracy[0]);
        assertTrue(signAccuracy[1] > 0.95, "with it every safe answer scores above 0: " + signAccuracy[1]);
    }
}
