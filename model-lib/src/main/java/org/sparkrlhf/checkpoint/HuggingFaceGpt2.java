package org.sparkrlhf.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.Head;
import org.sparkrlhf.model.ParameterLayout;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.tensor.DType;

/**
 * Hugging Face's GPT-2 model directories, in and out: {@code config.json} (sizes, architecture),
 * {@code model.safetensors} or shards named by {@code model.safetensors.index.json}, and
 * {@code generation_config.json}. A policy is a {@code GPT2LMHeadModel}; a reward model a
 * {@code GPT2ForSequenceClassification} with one label, whose score has no bias: on export ours
 * is folded into the reward normalization's mean (normalized scores stay exact), on import the
 * bias starts at zero. A critic's value head travels beside the model in
 * {@code value_head.safetensors}.
 */
public final class HuggingFaceGpt2 {
    private HuggingFaceGpt2() {}

    private static final ObjectMapper JSON = new ObjectMapper();
    static final String CONFIG = "config.json", WEIGHTS = "model.safetensors", INDEX = "model.safetensors.index.json",
            GENERATION = "generation_config.json", VALUE_HEAD = "value_head.safetensors";
    static final String LM = "GPT2LMHeadModel", SEQUENCE_CLASSIFICATION = "GPT2ForSequenceClassification";
    /** GPT-2's activation, by both names Hugging Face gives it. */
    private static final Set<String> TANH_GELU = Set.of("gelu_new", "gelu_pytorch_tanh");

    /** Reward normalization: what PPO subtracts from and divides reward scores by. */
    public record RewardNorm(double mean, double std) {}

    /** An imported model: sizes, weights, and the reward normalization a reward model's config carries (else null). */
    public record Imported(GptConfig config, Parameters parameters, RewardNorm rewardNorm) {}

    /** Whether {@code dir} looks like a Hugging Face model directory. */
    public static boolean isModelDirectory(ModelDirectory dir) throws IOException {
        return dir.exists(CONFIG) && (dir.exists(WEIGHTS) || dir.exists(INDEX));
    }

    /** Sizes and heads from a {@code config.json}; other architectures fail naming their {@code model_type}. */
    public static GptConfig config(JsonNode c, String source) throws IOException {
        String type = c.path("model_type").asText("");
        if (!type.equals("gpt2"))
            throw new IOException(source + ": model_type '" + type + "' is not supported; this project loads GPT-2-family models "
                    + "(model_type gpt2: GPT-2, DistilGPT-2, GPT-2 medium, large, xl, or a GPT-2-shaped model of your own)");
        String activation = c.path("activation_function").asText("gelu_new");
        if (!TANH_GELU.contains(activation))
            throw new IOException(source + ": activation_function '" + activation + "' is not supported; GPT-2 uses gelu_new (tanh GELU), which this model computes");
        if (!c.path("n_inner").isMissingNode() && !c.path("n_inner").isNull() && c.path("n_inner").asInt() != 4 * c.path("n_embd").asInt())
            throw new IOException(source + ": n_inner " + c.path("n_inner").asInt() + " is not 4 x n_embd; only GPT-2's MLP width is supported");
        Set<String> archs = new LinkedHashSet<>();
        c.path("architectures").forEach(a -> archs.add(a.asText()));
        EnumSet<Head> heads = EnumSet.noneOf(Head.class);
        if (archs.contains(SEQUENCE_CLASSIFICATION)) {
            int labels = c.path("num_labels").asInt(c.path("id2label").size() == 0 ? 2 : c.path("id2label").size());
            if (labels != 1)
                throw new IOException(source + ": a " + SEQUENCE_CLASSIFICATION + " with " + labels + " labels; a reward model has num_labels 1");
            heads.add(Head.REWARD);
        }
        if (archs.isEmpty() || archs.contains(LM) || archs.contains("GPT2Model")) heads.add(Head.LM);
        if (heads.isEmpty())
            throw new IOException(source + ": architectures " + archs + " are not supported; use " + LM + " (a policy) or " + SEQUENCE_CLASSIFICATION
                    + " (a reward model)");
        int positions = c.has("n_positions") ? c.get("n_positions").asInt() : c.path("n_ctx").asInt();
        try {
            return new GptConfig(c.path("vocab_size").asInt(), positions, c.path("n_embd").asInt(), c.path("n_head").asInt(), c.path("n_layer").asInt(),
                    c.path("tie_word_embeddings").asBoolean(true), heads, c.path("layer_norm_epsilon").asDouble(1e-5),
                    c.path("initializer_range").asDouble(0.02));
        } catch (IllegalArgumentException e) {
            throw new IOException(source + ": " + e.getMessage(), e);
        }
    }

    /** Reads a model directory: config, weights (one file or shards), and a critic's value head if one lies beside them. */
    public static Imported read(ModelDirectory dir, DType dtype) throws IOException {
        Tensors t = tensors(dir);
        return new Imported(t.config(), GptWeights.toParameters(t.byName(), t.config(), dtype, dir.where(WEIGHTS)), rewardNorm(t.json()));
    }

    /** The directory's trunk into {@code target}, as {@link GptWeights#readTrunk} does for a weights file; returns the heads left as they were. */
    public static List<String> readTrunk(ModelDirectory dir, Parameters target) throws IOException {
        return GptWeights.copyTrunk(tensors(dir).byName(), dir.where(WEIGHTS), target);
    }

    /** The reward normalization of an exported reward model ({@code sparkrlhf.reward_norm} in config.json), or null; reads no weights. */
    public static RewardNorm rewardNorm(ModelDirectory dir) throws IOException {
        return rewardNorm(configJson(dir));
    }

    private static RewardNorm rewardNorm(JsonNode c) {
        JsonNode n = c.path("sparkrlhf").path("reward_norm");
        return n.path("mean").isNumber() && n.path("std").isNumber() ? new RewardNorm(n.get("mean").asDouble(), n.get("std").asDouble()) : null;
    }

    private static JsonNode configJson(ModelDirectory dir) throws IOException {
        try (InputStream in = dir.open(CONFIG)) {
            return JSON.readTree(in);
        }
    }

    /** A directory's config.json, the model config it describes, and its tensors by GPT-2 name, as our layout expects them. */
    private record Tensors(JsonNode json, GptConfig config, Map<String, SafeTensors.Entry> byName) {}

    private static Tensors tensors(ModelDirectory dir) throws IOException {
        JsonNode c = configJson(dir);
        GptConfig config = config(c, dir.where(CONFIG));
        Map<String, SafeTensors.Entry> byName = new LinkedHashMap<>();
        for (String file : weightFiles(dir))
            try (InputStream in = dir.open(file)) {
                byName.putAll(GptWeights.byGpt2Name(SafeTensors.read(in, dir.where(file))));
            }
        if (dir.exists(VALUE_HEAD)) {
            try (InputStream in = dir.open(VALUE_HEAD)) {
                byName.putAll(GptWeights.byGpt2Name(SafeTensors.read(in, dir.where(VALUE_HEAD))));
            }
            config = config.withHeads(with(config.heads(), Head.VALUE));
        }
        if (config.tiedLmHead()) byName.remove("lm_head.weight"); // some files repeat the tied embedding
        if (config.has(Head.REWARD) && !byName.containsKey("score.bias")) // Hugging Face's score has no bias
            byName.put("score.bias", new SafeTensors.Entry("score.bias", new long[]{1}, new float[1]));
        return new Tensors(c, config, byName);
    }

    /** The weight files: the one {@code model.safetensors}, or every shard the index names, in order. */
    private static List<String> weightFiles(ModelDirectory dir) throws IOException {
        if (dir.exists(WEIGHTS)) return List.of(WEIGHTS);
        JsonNode index;
        try (InputStream in = dir.open(INDEX)) {
            index = JSON.readTree(in);
        }
        Set<String> files = new LinkedHashSet<>();
        index.path("weight_map").forEach(f -> files.add(f.asText()));
        if (files.isEmpty()) throw new IOException(dir.where(INDEX) + ": no weight_map; expected {\"weight_map\": {tensor: file}}");
        for (String f : files)
            if (!dir.exists(f)) throw new IOException(dir.where(INDEX) + " names shard " + f + ", which is missing at " + dir.where(f));
        return new ArrayList<>(files);
    }

    private static Head[] with(Set<Head> heads, Head extra) {
        EnumSet<Head> all = EnumSet.copyOf(heads);
        all.add(extra);
        return all.toArray(Head[]::new);
    }

    /**
     * Writes {@code params} as a Hugging Face directory {@code from_pretrained} loads: a reward model
     * (REWARD head) as {@code GPT2ForSequenceClassification} with {@code norm} in its config, else a
     * {@code GPT2LMHeadModel}; weights stored as {@code dtype} (F32, BF16 or F16).
     */
    public static void write(ModelDirectory dir, GptConfig config, Parameters params, String dtype, RewardNorm norm, int eosToken, int padToken)
            throws IOException {
        boolean reward = config.has(Head.REWARD);
        List<SafeTensors.Entry> model = new ArrayList<>(), valueHead = new ArrayList<>();
        double bias = 0;
        for (ParameterLayout.Entry e : params.layout().entries().values()) {
            String name = e.name();
            long[] shape = Arrays.stream(e.shape()).asLongStream().toArray();
            float[] data = params.get(name).toFloatArray();
            if (name.startsWith("v_head.")) valueHead.add(new SafeTensors.Entry(name, shape, data));
            else if (name.equals("score.bias")) bias = data[0];
            else if (name.startsWith("score.") || name.startsWith("lm_head.")) model.add(new SafeTensors.Entry(name, shape, data));
            else model.add(new SafeTensors.Entry("transformer." + name, shape, data)); // the trunk, as both classes name it
        }
        try (OutputStream out = dir.create(WEIGHTS)) {
            SafeTensors.write(out, model, Map.of("format", "pt"), dtype);
        }
        if (!valueHead.isEmpty())
            try (OutputStream out = dir.create(VALUE_HEAD)) {
                SafeTensors.write(out, valueHead, Map.of("format", "pt"), dtype);
            }
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add(reward ? SEQUENCE_CLASSIFICATION : LM);
        c.put("model_type", "gpt2");
        c.put("vocab_size", config.vocabSize());
        c.put("n_positions", config.contextLength());
        c.put("n_ctx", config.contextLength());
        c.put("n_embd", config.dModel());
        c.put("n_head", config.nHeads());
        c.put("n_layer", config.nLayers());
        c.putNull("n_inner");
        c.put("activation_function", "gelu_new");
        c.put("layer_norm_epsilon", config.layerNormEps());
        c.put("initializer_range", config.initStd());
        c.put("resid_pdrop", 0.0);
        c.put("embd_pdrop", 0.0);
        c.put("attn_pdrop", 0.0);
        c.put("tie_word_embeddings", config.tiedLmHead());
        c.put("bos_token_id", eosToken);
        c.put("eos_token_id", eosToken);
        c.put("torch_dtype", switch (dtype) {
            case "BF16" -> "bfloat16";
            case "F16" -> "float16";
            default -> "float32";
        });
        ObjectNode ours = JSON.createObjectNode();
        if (reward) {
            c.put("num_labels", 1);
            c.putObject("id2label").put("0", "LABEL_0");
            c.putObject("label2id").put("LABEL_0", 0);
            c.put("pad_token_id", padToken); // the classifier scores the last token before the first pad
            ObjectNode n = ours.putObject("reward_norm");
            RewardNorm r = norm == null ? new RewardNorm(0, 1) : norm;
            n.put("mean", r.mean() - bias); // the score bias, which the exported head lacks, folded in
            n.put("std", r.std());
            ours.put("note", "normalized reward = (score - reward_norm.mean) / reward_norm.std");
        }
        if (!valueHead.isEmpty()) ours.put("value_head", VALUE_HEAD);
        if (!ours.isEmpty()) c.set("sparkrlhf", ours);
        try (OutputStream out = dir.create(CONFIG)) {
            out.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(c));
        }
        ObjectNode g = JSON.createObjectNode();
        g.put("bos_token_id", eosToken);
        g.put("eos_token_id", eosToken);
        g.put("do_sample", true);
        g.put("max_length", config.contextLength());
        try (OutputStream out = dir.create(GENERATION)) {
            out.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(g));
        }
    }
}
