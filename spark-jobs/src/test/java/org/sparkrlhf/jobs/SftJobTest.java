package org.sparkrlhf.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import org.sparkrlhf.config.ConfigLoader;
import org.sparkrlhf.engine.LocalSparkTest;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.tensor.DType;

class SftJobTest extends LocalSparkTest {
    @Test
    void fineTunesFromGivenWeightsOnPromptResponseAndChatRecords(@TempDir java.nio.file.Path dir) throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<String> lines = new ArrayList<>();
        for (String s : BrownText.sentences("ca03")) {
            String[] w = s.split(" ");
            if (w.length < 6) continue;
            int half = Math.min(w.length / 2, 6);
            String prompt = String.join(" ", List.of(w).subList(0, half)), response = String.join(" ", List.of(w).subList(half, Math.min(w.length, half + 8)));
            lines.add(lines.size() % 2 == 0 ? json.writeValueAsString(Map.of("prompt", prompt, "response", response))
                    : json.writeValueAsString(Map.of("messages", List.of(Map.of("role", "user", "content", prompt), Map.of("role", "assistant", "content", response)))));
        }
        lines.add("{\"prompt\":\"orphan\"}");
        Files.write(dir.resolve("sft.jsonl"), lines, StandardCharsets.UTF_8);

        // "pre-trained" weights to start from
        GptConfig cfg = GptConfig.of(257, 128, 32, 2, 1);
        java.nio.file.Path init = dir.resolve("init.safetensors");
        try (OutputStream out = Files.newOutputStream(init)) {
            GptWeights.write(out, cfg, Gpt.init(cfg, DType.FLOAT32, 9).parameters());
        }
        List<Double> losses = new ArrayList<>();
        TrainingLoop.Outcome o = SftJob.train(spark, ConfigLoader.load(null, "test", List.of("run.dir=" + dir.resolve("run").toUri(),
                "data.train=" + dir.resolve("sft.jsonl").toUri(), "model.init=" + init.toUri(), "model.contextLength=128", "model.dModel=32",
                "model.nHeads=2", "model.nLayers=1", "train.steps=15", "train.globalBatch=8", "train.microBatch=4", "train.warmupSteps=2",
                "train.lr=0.005", "train.logEvery=5", "train.checkpointEvery=15", "data.maxBadFraction=0.05")), r -> losses.add(r.loss()));
        assertEquals(15, o.step());
        assertTrue(losses.get(14) < losses.get(0) - 0.5, "SFT loss falls: " + losses);
        assertEquals(1, Files.readAllLines(dir.resolve("run/quarantine/train.jsonl")).size());

        // the same records as Parquet train the same way
        spark.read().json(dir.resolve("sft.jsonl").toString()).write().parquet(dir.resolve("sft-parquet").toString());
        TrainingLoop.Outcome p = SftJob.train(spark, ConfigLoader.load(null, "test", List.of("run.dir=" + dir.resolve("run-pq").toUri(),
                "data.train=" + dir.resolve("sft-parquet").toUri(), "data.format=parquet", "model.contextLength=128", "model.dModel=32",
                "model.nHeads=2", "model.nLayers=1", "train.steps=2", "train.globalBatch=8", "train.microBatch=4", "train.warmupSteps=0",
                "train.schedule=constant", "data.maxBadFraction=0.05")), null);
        assertEquals(2, p.step());
        assertEquals(1, Files.readAllLines(dir.resolve("run-pq/quarantine/train.jsonl")).size(), "the orphan prompt is bad in Parquet too");
    }

    /**
     * SFT with LoRA adapters on a pre-trained model: the loss falls, the base weights in the checkpoint
     * are the pre-trained ones bit for bit, only adapters moved, the optimizer state covers the adapters
     * alone, and export folds them in (the Hugging Face model gives the adapted model's logits).
     */
    @Test
    void loraTrainsAdaptersOnlyAndExportsMerged(@TempDir java.nio.file.Path dir) throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<String> lines = new ArrayList<>();
        for (String s : BrownText.sentences("ca03")) {
            String[] w = s.split(" ");
            if (w.length < 6) continue;
            lines.add(json.writeValueAsString(Map.of("prompt", String.join(" ", List.of(w).subList(0, 3)), "response", String.join(" ", List.of(w).subList(3, Math.min(w.length, 9))))));
        }
        Files.write(dir.resolve("sft.jsonl"), lines, StandardCharsets.UTF_8);
        GptConfig cfg = GptConfig.of(257, 128, 32, 2, 1);
        Gpt pre = Gpt.init(cfg, DType.FLOAT32, 9);
        java.nio.file.Path init = dir.resolve("init.safetensors");
        try (OutputStream out = Files.newOutputStream(init)) {
            GptWeights.write(out, cfg, pre.parameters());
        }
        List<Double> losses = new ArrayList<>();
        TrainingLoop.Outcome o = SftJob.train(spark, ConfigLoader.load(null, "test", List.of("run.dir=" + dir.resolve("run").toUri(),
                "data.train=" + dir.resolve("sft.jsonl").toUri(), "model.init=" + init.toUri(), "model.contextLength=128", "model.dModel=32",
                "model.nHeads=2", "model.nLayers=1", "model.lora.rank=4", "model.lora.alpha=8", "model.lora.dropout=0.1",
                "train.steps=15", "train.globalBatch=8", "train.microBatch=4", "train.warmupSteps=2", "train.lr=0.05", "train.logEvery=5",
                "train.checkpointEvery=15")), r -> losses.add(r.loss()));
        assertEquals(15, o.step());
        assertTrue(losses.get(14) < losses.get(0) - 0.1, "LoRA SFT loss falls (rank-4 adapters on a random base of width 32: a little): " + losses);
        java.nio.file.Path ckpt = dir.resolve("run/checkpoints/step-0000015");
        GptWeights.Loaded saved;
        try (var in = Files.newInputStream(ckpt.resolve("weights.safetensors"))) {
            saved = GptWeights.read(in, "ckpt", 0, DType.FLOAT32);
        }
        assertTrue(saved.adaptersOnly() && saved.base().equals(init.toUri().toString()), "the checkpoint holds the adapters and names the base: " + saved.base());
        assertEquals(org.sparkrlhf.model.ParameterLayout.trainable(saved.config()).size(), saved.parameters().flat().size());
        Gpt adapted = ModelFiles.load(new org.apache.hadoop.conf.Configuration(), "test", ckpt.resolve("weights.safetensors").toString());
        for (org.sparkrlhf.model.ParameterLayout.Entry e : org.sparkrlhf.model.ParameterLayout.of(cfg).entries().values())
            assertArrayEquals(pre.parameters().get(e.name()).toFloatArray(), adapted.parameters().get(e.name()).toFloatArray(), "frozen " + e.name());
        assertTrue(adapted.parameters().get("h.0.mlp.c_fc.lora_B").sumOfSquares() > 0, "the adapters trained");
        long moments;
        try (var in = Files.newInputStream(ckpt.resolve("optimizer.safetensors"))) {
            moments = org.sparkrlhf.checkpoint.SafeTensors.read(in, "opt").tensors().values().stream().mapToLong(t -> t.data().length).max().orElse(0);
        }
        assertEquals(org.sparkrlhf.model.ParameterLayout.trainable(saved.config()).size(), moments, "AdamW keeps moments for the adapters alone");

        // a LoRA run resumed from its adapters-only checkpoint ends bit-identically to an uninterrupted one
        List<String> common = List.of("data.train=" + dir.resolve("sft.jsonl").toUri(), "model.init=" + init.toUri(), "model.contextLength=128",
                "model.dModel=32", "model.nHeads=2", "model.nLayers=1", "model.lora.rank=4", "model.lora.dropout=0.1", "train.globalBatch=8",
                "train.microBatch=4", "train.warmupSteps=0", "train.schedule=constant", "train.lr=0.02", "train.checkpointEvery=3");
        java.util.function.BiFunction<String, List<String>, List<String>> with = (run, more) -> {
            List<String> all = new ArrayList<>(common);
            all.add("run.dir=" + dir.resolve(run).toUri());
            all.addAll(more);
            return all;
        };
        SftJob.train(spark, ConfigLoader.load(null, "test", with.apply("whole", List.of("train.steps=6"))), null);
        SftJob.train(spark, ConfigLoader.load(null, "test", with.apply("cut", List.of("train.steps=3"))), null);
        SftJob.train(spark, ConfigLoader.load(null, "test", with.apply("cut", List.of("train.steps=6", "run.resume=true"))), null);
        byte[] whole = Files.readAllBytes(dir.resolve("whole/checkpoints/step-0000006/weights.safetensors"));
        byte[] resumed = Files.readAllBytes(dir.resolve("cut/checkpoints/step-0000006/weights.safetensors"));
        assertArrayEquals(whole, resumed, "adapters after a resume");

        assertEquals(0, new picocli.CommandLine(new ExportCommand()).execute(ckpt.toString(), "--out", dir.resolve("hf").toString()));
        Gpt exported = ModelFiles.load(new org.apache.hadoop.conf.Configuration(), "test", "hf:" + dir.resolve("hf"));
        assertEquals(null, exported.config().lora());
        int[] toks = {72, 101, 108, 108, 111, 32, 116};
        org.sparkrlhf.model.Batch b = org.sparkrlhf.model.Batch.dense(toks, 1, toks.length);
        float[] want = adapted.forward(b).logits().toFloatArray(), got = exported.forward(b).logits().toFloatArray();
        for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-4, "logit " + i);
    }
}
