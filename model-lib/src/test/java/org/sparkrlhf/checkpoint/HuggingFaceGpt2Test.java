package org.sparkrlhf.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkrlhf.model.Batch;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.Head;
import org.sparkrlhf.model.ParameterLayout;
import org.sparkrlhf.tensor.DType;

/** Hugging Face GPT-2 directories: files as Hugging Face lays them out, round trips that keep the logits, clear refusals. */
class HuggingFaceGpt2Test {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final GptConfig POLICY = GptConfig.of(50, 16, 32, 4, 2);

    static float[] logits(Gpt m) {
        int[] toks = {3, 7, 1, 49, 0, 12, 5, 8};
        return m.forward(new Batch(toks, 1, toks.length, new int[]{0}, new int[]{toks.length})).logits().toFloatArray();
    }

    static float[] rewards(Gpt m) {
        int[] toks = {3, 7, 1, 49, 0, 12, 5, 8, 9, 9, 2, 2};
        return m.forward(new Batch(toks, 2, 6, new int[]{0, 0}, new int[]{6, 4})).rewards().toFloatArray();
    }

    static JsonNode json(Path p) throws IOException {
        return JSON.readTree(p.toFile());
    }

    static List<String> tensorNames(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return new ArrayList<>(SafeTensors.read(in, file.toString()).tensors().keySet());
        }
    }

    @Test
    void aPolicyExportsAsGpt2LMHeadModelAndImportsWithTheSameLogits(@TempDir Path dir) throws IOException {
        Gpt model = Gpt.init(POLICY, DType.FLOAT32, 7);
        HuggingFaceGpt2.write(ModelDirectory.local(dir), POLICY, model.parameters(), "F32", null, 49, 49);
        JsonNode c = json(dir.resolve("config.json"));
        assertEquals("GPT2LMHeadModel", c.path("architectures").get(0).asText());
        assertEquals("gpt2", c.path("model_type").asText());
        assertEquals(32, c.path("n_embd").asInt());
        assertEquals(4, c.path("n_head").asInt());
        assertEquals(2, c.path("n_layer").asInt());
        assertEquals(16, c.path("n_positions").asInt());
        assertEquals(50, c.path("vocab_size").asInt());
        assertEquals("gelu_new", c.path("activation_function").asText());
        assertTrue(c.path("tie_word_embeddings").asBoolean());
        assertEquals(49, json(dir.resolve("generation_config.json")).path("eos_token_id").asInt());
        List<String> names = tensorNames(dir.resolve("model.safetensors"));
        assertTrue(names.contains("transformer.h.0.attn.c_attn.weight") && names.contains("transformer.wte.weight") && names.contains("transformer.ln_f.bias"),
                names.toString());
        assertFalse(names.contains("lm_head.weight"), "a tied head is the embedding, as Hugging Face saves it");
        try (InputStream in = Files.newInputStream(dir.resolve("model.safetensors"))) {
            SafeTensors.Entry qkv = SafeTensors.read(in, "m").tensors().get("transformer.h.1.attn.c_attn.weight");
            assertArrayEquals(new long[]{32, 96}, qkv.shape(), "Conv1D layout, [in, out]");
        }

        HuggingFaceGpt2.Imported back = HuggingFaceGpt2.read(ModelDirectory.local(dir), DType.FLOAT32);
        assertEquals(POLICY, back.config());
        assertArrayEquals(logits(model), logits(new Gpt(back.config(), back.parameters())));
    }

    @Test
    void anUntiedHeadInBf16ComesBackRoundedAndOnlyRounded(@TempDir Path dir) throws IOException {
        GptConfig untied = POLICY.withTiedLmHead(false);
        Gpt model = Gpt.init(untied, DType.FLOAT32, 3);
        HuggingFaceGpt2.write(ModelDirectory.local(dir), untied, model.parameters(), "BF16", null, 49, 49);
        assertTrue(tensorNames(dir.resolve("model.safetensors")).contains("lm_head.weight"));
        assertEquals("bfloat16", json(dir.resolve("config.json")).path("torch_dtype").asText());
        HuggingFaceGpt2.Imported back = HuggingFaceGpt2.read(ModelDirectory.local(dir), DType.FLOAT32);
        assertFalse(back.config().tiedLmHead());
        float[] want = model.parameters().flat().toFloatArray(), got = back.parameters().flat().toFloatArray();
        for (int i = 0; i < want.length; i++)
            assertEquals(Float.intBitsToFloat((SafeTensors.floatToBf16(want[i]) & 0xffff) << 16), got[i], "at " + i);
        // bf16 keeps 7 bits of mantissa: relative error at most half an ulp, 2^-8
        for (int i = 0; i < want.length; i++) assertTrue(Math.abs(want[i] - got[i]) <= Math.abs(want[i]) / 256, "at " + i);
    }

    @Test
    void aShardedFp16DirectoryAsHuggingFaceWritesItLoads(@TempDir Path dir) throws IOException {
        Gpt model = Gpt.init(POLICY, DType.FLOAT32, 5);
        // two shards with Hugging Face's names, the attention-mask buffers, and the tied head repeated
        List<SafeTensors.Entry> first = new ArrayList<>(), second = new ArrayList<>();
        for (ParameterLayout.Entry e : model.parameters().layout().entries().values()) {
            long[] shape = java.util.Arrays.stream(e.shape()).asLongStream().toArray();
            (e.name().startsWith("h.1.") ? second : first).add(new SafeTensors.Entry("transformer." + e.name(), shape,
                    model.parameters().get(e.name()).toFloatArray()));
        }
        first.add(new SafeTensors.Entry("transformer.h.0.attn.bias", new long[]{1, 1, 16, 16}, new float[256]));
        second.add(new SafeTensors.Entry("lm_head.weight", new long[]{50, 32}, model.parameters().get("wte.weight").toFloatArray()));
        try (OutputStream out = Files.newOutputStream(dir.resolve("model-00001-of-00002.safetensors"))) {
            SafeTensors.write(out, first, Map.of("format", "pt"), "F16");
        }
        try (OutputStream out = Files.newOutputStream(dir.resolve("model-00002-of-00002.safetensors"))) {
            SafeTensors.write(out, second, Map.of("format", "pt"), "F16");
        }
        var index = JSON.createObjectNode();
        var map = index.putObject("weight_map");
        for (SafeTensors.Entry e : first) map.put(e.name(), "model-00001-of-00002.safetensors");
        for (SafeTensors.Entry e : second) map.put(e.name(), "model-00002-of-00002.safetensors");
        Files.write(dir.resolve("model.safetensors.index.json"), JSON.writeValueAsBytes(index));
        Files.writeString(dir.resolve("config.json"), "{\"architectures\": [\"GPT2LMHeadModel\"], \"model_type\": \"gpt2\", \"vocab_size\": 50,"
                + " \"n_positions\": 16, \"n_embd\": 32, \"n_head\": 4, \"n_layer\": 2, \"activation_function\": \"gelu_new\"}");
        HuggingFaceGpt2.Imported back = HuggingFaceGpt2.read(ModelDirectory.local(dir), DType.FLOAT32);
        assertEquals(POLICY, back.config());
        float[] want = model.parameters().flat().toFloatArray(), got = back.parameters().flat().toFloatArray();
        for (int i = 0; i < want.length; i++) assertEquals(SafeTensors.halfToFloat(SafeTensors.floatToHalf(want[i])), got[i], "at " + i);
    }

    @Test
    void aRewardModelExportsAsSequenceClassificationAndKeepsItsNormalizedScores(@TempDir Path dir) throws IOException {
        GptConfig rm = POLICY.withHeads(Head.REWARD);
        Gpt model = Gpt.init(rm, DType.FLOAT32, 9);
        model.parameters().get("score.bias").set(0, 0.75);
        HuggingFaceGpt2.write(ModelDirectory.local(dir), rm, model.parameters(), "F32", new HuggingFaceGpt2.RewardNorm(1.5, 2.0), 49, 48);
        JsonNode c = json(dir.resolve("config.json"));
        assertEquals("GPT2ForSequenceClassification", c.path("architectures").get(0).asText());
        assertEquals(1, c.path("num_labels").asInt());
        assertEquals(48, c.path("pad_token_id").asInt());
        assertEquals(0.75, c.path("sparkrlhf").path("reward_norm").path("mean").asDouble(), 1e-12, "1.5 minus the folded bias");
        List<String> names = tensorNames(dir.resolve("model.safetensors"));
        assertTrue(names.contains("score.weight") && !names.contains("score.bias"), names.toString());
        HuggingFaceGpt2.Imported back = HuggingFaceGpt2.read(ModelDirectory.local(dir), DType.FLOAT32);
        assertEquals(rm, back.config());
        float[] before = rewards(model), after = rewards(new Gpt(back.config(), back.parameters()));
        for (int i = 0; i < before.length; i++)
            assertEquals((before[i] - 1.5) / 2.0, (after[i] - back.rewardNorm().mean()) / back.rewardNorm().std(), 1e-6);
    }

    @Test
    void otherArchitecturesAndBrokenDirectoriesAreRefusedByName(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"llama\", \"hidden_size\": 32}");
        Files.write(dir.resolve("model.safetensors"), new byte[0]);
        IOException e = assertThrows(IOException.class, () -> HuggingFaceGpt2.read(ModelDirectory.local(dir), DType.FLOAT32));
        assertTrue(e.getMessage().contains("model_type 'llama' is not supported") && e.getMessage().contains("GPT-2"), e.getMessage());
        Files.writeString(dir.resolve("config.json"), "{\"architectures\": [\"GPT2ForSequenceClassification\"], \"model_type\": \"gpt2\", \"num_labels\": 3,"
                + " \"vocab_size\": 50, \"n_positions\": 16, \"n_embd\": 32, \"n_head\": 4, \"n_layer\": 2}");
        e = assertThrows(IOException.class, () -> HuggingFaceGpt2.read(ModelDirectory.local(dir), DType.FLOAT32));
        assertTrue(e.getMessage().contains("3 labels; a reward model has num_labels 1"), e.getMessage());
        Files.delete(dir.resolve("model.safetensors"));
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"gpt2\", \"vocab_size\": 50, \"n_positions\": 16, \"n_embd\": 32, \"n_head\": 4, \"n_layer\": 2}");
        Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"weight_map\": {\"transformer.wte.weight\": \"model-00001-of-00002.safetensors\"}}");
        e = assertThrows(IOException.class, () -> HuggingFaceGpt2.read(ModelDirectory.local(dir), DType.FLOAT32));
        assertTrue(e.getMessage().contains("names shard model-00001-of-00002.safetensors, which is missing"), e.getMessage());
    }

    @Test
    void halfPrecisionConversionsRoundToNearestEven() {
        for (float exact : new float[]{0f, -0f, 1f, -2.5f, 65504f, 0x1p-14f, 0x1p-24f, 3 * 0x1p-24f})
            assertEquals(exact, SafeTensors.halfToFloat(SafeTensors.floatToHalf(exact)), "exact in binary16: " + exact);
        assertEquals(1f, SafeTensors.halfToFloat(SafeTensors.floatToHalf(1f + 0x1p-11f)), "a tie goes to the even neighbour");
        assertEquals(1f + 0x1p-9f, SafeTensors.halfToFloat(SafeTensors.floatToHalf(1f + 3 * 0x1p-11f)), "a tie goes to the even neighbour, upward");
        assertEquals(Float.POSITIVE_INFINITY, SafeTensors.halfToFloat(SafeTensors.floatToHalf(65520f)));
        assertEquals(0f, SafeTensors.halfToFloat(SafeTensors.floatToHalf(0x1p-26f)));
        assertTrue(Float.isNaN(SafeTensors.halfToFloat(SafeTensors.floatToHalf(Float.NaN))));
        assertEquals(1f, Float.intBitsToFloat((SafeTensors.floatToBf16(1f + 0x1p-8f) & 0xffff) << 16), "bf16 tie to even");
        assertEquals(1f + 0x1p-6f, Float.intBitsToFloat((SafeTensors.floatToBf16(1f + 3 * 0x1p-8f) & 0xffff) << 16));
    }
}
