package org.sparkrlhf.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkrlhf.checkpoint.GptWeights;
import org.sparkrlhf.config.ConfigException;
import org.sparkrlhf.config.ConfigLoader;
import org.sparkrlhf.engine.LocalSparkTest;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.tensor.DType;

/** DPO on real text: annotators prefer the sentence to the same sentence shouted; held-out accuracy, margins, resume-ready checkpoints. */
class DpoJobTest extends LocalSparkTest {

    @Test
    void learnsThePreferenceFromItsStartingModel(@TempDir java.nio.file.Path dir) throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<String> lines = new ArrayList<>();
        for (String s : BrownText.sentences("ca04", "ca05")) {
            if (s.length() < 20 || lines.size() >= 300) continue;
            String text = s.substring(0, Math.min(30, s.length()));
            if (lines.size() % 5 == 0)
                lines.add(json.writeValueAsString(Map.of("prompt", "Say something.", "responses", List.of(text.toUpperCase(), text, text.substring(0, text.length() / 2).toUpperCase() + text.substring(text.length() / 2)),
                        "ranking", List.of(1, 2, 0))));
            else
                lines.add(json.writeValueAsString(Map.of("prompt", "Say something.", "chosen", text, "rejected", text.toUpperCase())));
        }
        lines.add("{\"prompt\": \"Q\", \"chosen\": \"same\", \"rejected\": \"same\"}");
        Files.write(dir.resolve("prefs.jsonl"), lines, StandardCharsets.UTF_8);
        GptConfig cfg = GptConfig.of(257, 96, 32, 2, 1);
        java.nio.file.Path init = dir.resolve("sft.safetensors");
        try (OutputStream out = Files.newOutputStream(init)) {
            GptWeights.write(out, cfg, Gpt.init(cfg, DType.FLOAT32, 11).parameters());
        }
        List<String> o = new ArrayList<>(List.of("run.dir=" + dir.resolve("run").toUri(), "data.train=" + dir.resolve("prefs.jsonl").toUri(),
                "data.evalFraction=0.2", "model.init=" + init.toUri(), "model.contextLength=96", "model.dModel=32", "model.nHeads=2",
                "model.nLayers=1", "train.steps=20", "train.globalBatch=8", "train.microBatch=8", "train.warmupSteps=2", "train.lr=0.003",
                "train.checkpointEvery=10", "data.maxBadFraction=0.05", "dpo.beta=0.1"));
        List<Double> losses = new ArrayList<>();
        TrainingLoop.Outcome out = DpoJob.train(spark, ConfigLoader.load(null, "test", o), r -> losses.add(r.loss()));
        assertEquals(20, out.step());
        assertTrue(losses.get(19) < losses.get(0), "DPO loss falls: " + losses);
        assertEquals(Math.log(2), losses.get(0), 0.05, "at step 1 the policy is its reference: loss log 2 per pair");
        JsonNode eval = json.readTree(dir.resolve("run/eval/dpo-step-20.json").toFile());
        assertTrue(eval.get("pairs").asInt() > 20, eval.toString());
        assertTrue(eval.get("accuracy").asDouble() > 0.8, "held-out accuracy of the implicit reward: " + eval);
        assertTrue(eval.get("reward_margin").asDouble() > 0, eval.toString());
        assertTrue(eval.get("kl_to_reference").asDouble() > 0, "the policy moved from its reference: " + eval); // 64 samples of its own
        JsonNode early = json.readTree(dir.resolve("run/eval/dpo-step-10.json").toFile());
        assertTrue(early.get("kl_to_reference").asDouble() < eval.get("kl_to_reference").asDouble(), "and further with training: " + early + " " + eval);
        String metrics = Files.readString(dir.resolve("run/metrics/dpo.jsonl"));
        assertTrue(metrics.contains("\"eval_accuracy\"") && metrics.contains("\"data_pairs\"") && metrics.contains("\"eval_kl_to_reference\""), metrics);
        assertEquals(1, Files.readAllLines(dir.resolve("run/quarantine/train.jsonl")).size()
                + (Files.exists(dir.resolve("run/quarantine/eval.jsonl")) ? Files.readAllLines(dir.resolve("run/quarantine/eval.jsonl")).size() : 0));

        // a run that crashes at step 13 and resumes from its step-10 checkpoint ends bit-identically (reference log-probs recomputed alike)
        List<String> cut = new ArrayList<>(o);
        cut.replaceAll(x -> x.startsWith("run.dir=") ? "run.dir=" + dir.resolve("cut").toUri() : x);
        assertThrows(IllegalStateException.class, () -> DpoJob.train(spark, ConfigLoader.load(null, "test", cut), r -> {
            if (r.step() == 13) throw new IllegalStateException("simulated crash");
        }));
        cut.add("run.resume=true");
        List<Long> resumedSteps = new ArrayList<>();
        DpoJob.train(spark, ConfigLoader.load(null, "test", cut), r -> resumedSteps.add(r.step()));
        assertEquals(11L, resumedSteps.get(0), "resumed after the step-10 checkpoint");
        assertArrayEquals(Files.readAllBytes(dir.resolve("run/checkpoints/step-0000020/weights.safetensors")),
                Files.readAllBytes(dir.resolve("cut/checkpoints/step-0000020/weights.safetensors")), "weights after a resume");

        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(null, "test", List.of("data.train=x", "dpo.loss=kto")).validateDpo());
        assertTrue(e.getMessage().contains("dpo.loss must be sigmoid or ipo"), e.getMessage());
    }
}
