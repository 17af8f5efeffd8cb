package org.sparkrlhf.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkrlhf.checkpoint.GptWeights;
import org.sparkrlhf.engine.MiniHdfs;
import org.sparkrlhf.model.Batch;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.Head;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.rl.ExperienceMaker;
import org.sparkrlhf.tensor.DType;
import picocli.CommandLine;

/** Checkpoints out to Hugging Face directories and back in through hf:DIR, on local files and HDFS. */
class ExportCommandTest {
    static final GptConfig CFG = GptConfig.of(260, 32, 32, 4, 2); // the byte tokenizer's vocabulary

    static Path checkpoint(Path dir, GptConfig cfg, long seed, String rewardNorm) throws Exception {
        Files.createDirectories(dir);
        Gpt m = Gpt.init(cfg, DType.FLOAT32, seed);
        if (cfg.has(Head.REWARD)) m.parameters().get("score.bias").set(0, -0.5);
        try (OutputStream out = Files.newOutputStream(dir.resolve("weights.safetensors"))) {
            GptWeights.write(out, cfg, m.parameters());
        }
        Files.writeString(dir.resolve("config.json"), "{\"model\": {\"tokenizer\": \"bytes\"}}");
        if (rewardNorm != null) Files.writeString(dir.resolve("reward_norm.json"), rewardNorm);
        return dir;
    }

    static float[] logits(Gpt m) {
        int[] toks = {72, 105, 33, 10, 200, 7};
        return m.forward(new Batch(toks, 1, toks.length, new int[]{0}, new int[]{toks.length})).logits().toFloatArray();
    }

    static int export(String... args) {
        return new CommandLine(new ExportCommand()).execute(args);
    }

    @Test
    void aPolicyCheckpointGoesOutAndComesBackThroughHfWithTheSameLogits(@TempDir Path tmp) throws Exception {
        Path ckpt = checkpoint(tmp.resolve("step-0000010"), CFG, 4, null);
        Path out = tmp.resolve("hf");
        assertEquals(0, export(ckpt.toString(), "--out", out.toString()));
        for (String f : new String[]{"config.json", "model.safetensors", "generation_config.json"}) assertTrue(Files.exists(out.resolve(f)), f);
        Configuration hadoop = new Configuration();
        Gpt original = ModelFiles.load(hadoop, "ppo.policyInit", ckpt.resolve("weights.safetensors").toString());
        Gpt imported = ModelFiles.load(hadoop, "ppo.policyInit", "hf:" + out);
        assertEquals(original.config(), imported.config());
        assertArrayEquals(logits(original), logits(imported));

        // and again: import -> export -> import is a fixed point
        Path ckpt2 = tmp.resolve("again");
        Files.createDirectories(ckpt2);
        try (OutputStream o = Files.newOutputStream(ckpt2.resolve("weights.safetensors"))) {
            GptWeights.write(o, imported.config(), imported.parameters());
        }
        assertEquals(0, export(ckpt2.resolve("weights.safetensors").toString(), "--out", tmp.resolve("hf2").toString(), "--tokenizer", "bytes"));
        assertArrayEquals(logits(imported), logits(ModelFiles.load(hadoop, "ppo.policyInit", "hf:" + tmp.resolve("hf2"))));

        // model.init=hf:DIR starts a reward model from the policy's trunk; its score head starts fresh
        Parameters rm = Gpt.init(CFG.withHeads(Head.REWARD), DType.FLOAT32, 1).parameters();
        ModelFiles.loadInit(hadoop, "hf:" + out, rm, "reward");
        assertArrayEquals(original.parameters().get("h.1.mlp.c_fc.weight").toFloatArray(), rm.get("h.1.mlp.c_fc.weight").toFloatArray());
    }

    /** The gpt2 tokenizer goes out as GPT-2's own vocab.json + merges.txt, and hf:DIR reads them back to the same ids. */
    @Test
    void gpt2TokenizerFilesGoOutAndComeBack(@TempDir Path tmp) throws Exception {
        GptConfig cfg = GptConfig.of(50257, 16, 8, 2, 1);
        Path ckpt = tmp.resolve("step-0000001");
        Files.createDirectories(ckpt);
        try (OutputStream o = Files.newOutputStream(ckpt.resolve("weights.safetensors"))) {
            GptWeights.write(o, cfg, Gpt.init(cfg, DType.FLOAT32, 3).parameters());
        }
        Files.writeString(ckpt.resolve("config.json"), "{\"model\": {\"tokenizer\": \"gpt2\"}}");
        Path out = tmp.resolve("hf");
        assertEquals(0, export(ckpt.toString(), "--out", out.toString()));
        for (String f : new String[]{"vocab.json", "merges.txt", "tokenizer_config.json"}) assertTrue(Files.exists(out.resolve(f)), f);
        assertTrue(Files.readString(out.resolve("tokenizer_config.json")).contains("GPT2Tokenizer"));
        ModelSpec back = ModelSpec.resolve(new Configuration(), "test", "hf:" + out, null);
        String text = "Hello world, it's a test of GPT-2's tokenizer files.";
        assertArrayEquals(org.sparkrlhf.tokenizer.Tokenizers.create("gpt2").encode(text), org.sparkrlhf.tokenizer.Tokenizers.create(back.tokenizer()).encode(text));
    }

    /**
     * A LoRA checkpoint as a PEFT adapter directory: PEFT's file names, keys, shapes ([r, in] and
     * [out, r], transposed from ours) and config, and the adapters it holds fold into the base exactly
     * as merging does: W + (alpha / r) lora_A^T lora_B^T.
     */
    @Test
    void loraAdaptersGoOutAsAPeftDirectory(@TempDir Path tmp) throws Exception {
        Path base = checkpoint(tmp.resolve("base"), CFG, 6, null).resolve("weights.safetensors");
        GptConfig lc = CFG.withLora(new org.sparkrlhf.model.Lora(4, 8.0, 0.05, java.util.Set.of("c_attn", "mlp.c_proj")));
        Gpt adapted = Gpt.init(lc, DType.FLOAT32, 6);
        java.util.SplittableRandom r = new java.util.SplittableRandom(1);
        for (var e : org.sparkrlhf.model.ParameterLayout.trainable(lc).entries().values()) {
            var t = adapted.parameters().get(e.name());
            for (int i = 0; i < t.size(); i++) t.set(i, r.nextDouble() - 0.5);
        }
        Path ckpt = tmp.resolve("lora");
        Files.createDirectories(ckpt);
        try (OutputStream o = Files.newOutputStream(ckpt.resolve("weights.safetensors"))) {
            GptWeights.writeAdapters(o, lc, adapted.trainable(), base.toUri().toString());
        }
        Files.writeString(ckpt.resolve("config.json"), "{\"model\": {\"tokenizer\": \"bytes\"}}");
        Path out = tmp.resolve("peft");
        assertEquals(0, export(ckpt.toString(), "--out", out.toString(), "--peft"));
        var cfg = new com.fasterxml.jackson.databind.ObjectMapper().readTree(out.resolve("adapter_config.json").toFile());
        assertEquals("LORA", cfg.get("peft_type").asText());
        assertEquals("CAUSAL_LM", cfg.get("task_type").asText());
        assertEquals(4, cfg.get("r").asInt());
        assertEquals(8.0, cfg.get("lora_alpha").asDouble());
        assertTrue(cfg.get("fan_in_fan_out").asBoolean());
        assertEquals(java.util.List.of("c_attn", "mlp.c_proj"), java.util.List.of(cfg.get("target_modules").get(0).asText(), cfg.get("target_modules").get(1).asText()));
        org.sparkrlhf.checkpoint.SafeTensors.Contents c;
        try (var in = Files.newInputStream(out.resolve("adapter_model.safetensors"))) {
            c = org.sparkrlhf.checkpoint.SafeTensors.read(in, "peft");
        }
        assertEquals(4 * 2, c.tensors().size(), "two layers x two targets x (A, B)");
        int d = CFG.dModel();
        var a = c.tensors().get("base_model.model.transformer.h.1.attn.c_attn.lora_A.weight");
        var b = c.tensors().get("base_model.model.transformer.h.1.attn.c_attn.lora_B.weight");
        assertArrayEquals(new long[]{4, d}, a.shape());
        assertArrayEquals(new long[]{3 * d, 4}, b.shape());
        // fold PEFT's tensors as PEFT does and compare with our merge
        Gpt full = ModelFiles.load(new Configuration(), "test", ckpt.resolve("weights.safetensors").toString());
        float[] w = full.parameters().get("h.1.attn.c_attn.weight").toFloatArray(), merged = full.merged().parameters().get("h.1.attn.c_attn.weight").toFloatArray();
        for (int i = 0; i < d; i++)
            for (int j = 0; j < 3 * d; j++) {
                double delta = 0;
                for (int k = 0; k < 4; k++) delta += a.data()[k * d + i] * (double) b.data()[j * 4 + k];
                assertEquals(merged[i * 3 * d + j], w[i * 3 * d + j] + 2.0 * delta, 1e-5, "W[" + i + "][" + j + "]");
            }
        assertEquals(2, export(base.toString(), "--out", tmp.resolve("no").toString(), "--peft", "--tokenizer", "bytes"), "a model without adapters is refused");
    }

    /** A PPO checkpoint's critic goes out as the trunk plus value_head.safetensors, and comes back with the same values. */
    @Test
    void aPpoCriticGoesOutWithItsValueHead(@TempDir Path tmp) throws Exception {
        Path ckpt = tmp.resolve("step-0000020");
        Files.createDirectories(ckpt);
        GptConfig criticCfg = CFG.withHeads(Head.VALUE);
        Gpt critic = Gpt.init(criticCfg, DType.FLOAT32, 9);
        try (OutputStream o = Files.newOutputStream(ckpt.resolve("critic.safetensors"))) {
            GptWeights.write(o, criticCfg, critic.parameters());
        }
        try (OutputStream o = Files.newOutputStream(ckpt.resolve("policy.safetensors"))) {
            GptWeights.write(o, CFG, Gpt.init(CFG, DType.FLOAT32, 8).parameters());
        }
        Files.writeString(ckpt.resolve("config.json"), "{\"job\": {\"model\": {\"tokenizer\": \"bytes\"}}}");
        Path out = tmp.resolve("critic-hf");
        assertEquals(0, export(ckpt.toString(), "--out", out.toString(), "--critic"));
        assertTrue(Files.exists(out.resolve("value_head.safetensors")));
        Gpt back = ModelFiles.load(new Configuration(), "test", "hf:" + out);
        assertTrue(back.config().has(Head.VALUE));
        int[] toks = {72, 105, 33, 10};
        Batch b = new Batch(toks, 1, toks.length, new int[]{0}, new int[]{toks.length});
        assertArrayEquals(critic.forward(b).values().toFloatArray(), back.forward(b).values().toFloatArray());
        assertEquals(2, export(tmp.resolve("step-0000020").resolve("critic.safetensors").toString(), "--out", tmp.resolve("x").toString(), "--critic"));
    }

    @Test
    void aRewardModelKeepsItsNormalizedScoresOnHdfs(@TempDir Path tmp) throws Exception {
        MiniDFSCluster hdfs = MiniHdfs.start(tmp.resolve("dfs"));
        try {
            Configuration hadoop = hdfs.getFileSystem().getConf();
            Path ckpt = checkpoint(tmp.resolve("rm"), CFG.withHeads(Head.REWARD), 6, "{\"mean\": 0.25, \"std\": 2.0}");
            String out = hdfs.getURI() + "/export/rm";
            ExportCommand cmd = new ExportCommand();
            String local = ckpt.toUri().toString(); // the default file system is HDFS here
            new CommandLine(cmd).parseArgs(local, "--out", out, "--dtype", "f32");
            assertEquals(0, cmd.export(hadoop));
            Gpt original = ModelFiles.rewardModel(hadoop, local), imported = ModelFiles.rewardModel(hadoop, "hf:" + out);
            ExperienceMaker.ScoreNorm before = ModelFiles.rewardNorm(hadoop, local), after = ModelFiles.rewardNorm(hadoop, "hf:" + out);
            int[] toks = {72, 105, 33, 10, 200, 7, 9, 9};
            Batch b = new Batch(toks, 2, 4, new int[]{0, 0}, new int[]{4, 3});
            float[] r0 = original.forward(b).rewards().toFloatArray(), r1 = imported.forward(b).rewards().toFloatArray();
            for (int i = 0; i < r0.length; i++)
                assertEquals((r0[i] - before.mean()) / before.std(), (r1[i] - after.mean()) / after.std(), 1e-6, "normalized score " + i);
            String config = new String(hdfs.getFileSystem().open(new org.apache.hadoop.fs.Path(out, "config.json")).readAllBytes(), StandardCharsets.UTF_8);
            assertEquals("GPT2ForSequenceClassification", new ObjectMapper().readTree(config).path("architectures").get(0).asText());
        } finally {
            hdfs.shutdown();
        }
    }

    @Test
    void mistakesEndInOneLineThatNamesTheFix(@TempDir Path tmp) throws Exception {
        PrintStream saved = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            assertEquals(2, export(tmp.resolve("nowhere").toString(), "--out", tmp.resolve("x").toString()));
            assertEquals(2, export(checkpoint(tmp.resolve("p"), CFG, 1, null).toString(), "--out", tmp.resolve("y").toString(), "--dtype", "f8"));
            assertEquals(2, export(checkpoint(tmp.resolve("r"), CFG.withHeads(Head.REWARD), 1, null).toString(), "--out", tmp.resolve("z").toString()));
        } finally {
            System.setErr(saved);
        }
        String[] lines = err.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("error: ")).toArray(String[]::new);
        assertEquals(3, lines.length, String.join("\n", lines));
        assertTrue(lines[0].contains("nowhere does not exist; name a checkpoint directory, a weights file or hf:DIR"), lines[0]);
        assertTrue(lines[1].contains("--dtype f8 is not one of f32, bf16, f16"), lines[1]);
        assertTrue(lines[2].contains("holds a reward model but no reward_norm.json"), lines[2]);

        // a model of another architecture is refused naming its model_type
        Path llama = tmp.resolve("llama");
        Files.createDirectories(llama);
        Files.writeString(llama.resolve("config.json"), "{\"model_type\": \"llama\"}");
        Files.write(llama.resolve("model.safetensors"), new byte[8]);
        ModelFileException e = assertThrows(ModelFileException.class, () -> ModelFiles.load(new Configuration(), "ppo.policyInit", "hf:" + llama));
        assertTrue(e.getMessage().startsWith("ppo.policyInit: ") && e.getMessage().contains("model_type 'llama' is not supported"), e.getMessage());
        e = assertThrows(ModelFileException.class, () -> ModelFiles.requireExists(new Configuration(), "model.init", "hf:" + tmp.resolve("empty")));
        assertTrue(e.getMessage().contains("is not a Hugging Face model directory"), e.getMessage());
        // a vocabulary that is not the tokenizer's names the fix
        Path out = tmp.resolve("hf-small-vocab");
        assertEquals(0, export(checkpoint(tmp.resolve("v"), GptConfig.of(300, 32, 32, 4, 2), 2, null).toString(), "--out", out.toString()));
        Parameters target = Gpt.init(CFG, DType.FLOAT32, 1).parameters();
        e = assertThrows(ModelFileException.class, () -> ModelFiles.loadInit(new Configuration(), "hf:" + out, target, "sft"));
        assertTrue(e.getMessage().contains("the vocabularies differ: use the model's own tokenizer"), e.getMessage());
    }
}
