package org.sparkrlhf.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.Head;
import org.sparkrlhf.model.ParameterLayout;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tensor.Tensor;

/**
 * A GPT's weights as safetensors with Hugging Face GPT-2 tensor names, so a user can bring a
 * GPT-2-family checkpoint and take ours to other tools. Our config travels in the metadata; a file
 * without it (e.g. from Hugging Face) has its sizes inferred from the tensor shapes.
 */
public final class GptWeights {
    private GptWeights() {}

    static final String CONFIG_KEY = "sparkrlhf.config";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Buffers that GPT-2 files may carry and that are not parameters. */
    private static final Set<String> IGNORED_SUFFIXES = Set.of(".attn.bias", ".attn.masked_bias");

    public static void write(OutputStream out, GptConfig config, Parameters params) throws IOException {
        write(out, config, params, null);
    }

    /** Every tensor of {@code params}'s layout, the config, and (for LoRA adapters) where their base comes from. */
    private static void write(OutputStream out, GptConfig config, Parameters params, String base) throws IOException {
        List<SafeTensors.Entry> entries = new ArrayList<>();
        for (ParameterLayout.Entry e : params.layout().entries().values())
            entries.add(new SafeTensors.Entry(e.name(), Arrays.stream(e.shape()).asLongStream().toArray(), params.get(e.name()).toFloatArray()));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put(CONFIG_KEY, JSON.writeValueAsString(config));
        if (base != null) meta.put(BASE_KEY, base);
        SafeTensors.write(out, entries, meta);
    }

    static final String BASE_KEY = "sparkrlhf.base";

    /**
     * A LoRA model's trained part alone (its adapters and heads, {@link org.sparkrlhf.model.Gpt#trainable()}),
     * with the config and where the frozen base comes from ({@code base}: a weights location, or
     * {@code seed:N} for the random init of run seed N): what a LoRA run checkpoints.
     */
    public static void writeAdapters(OutputStream out, GptConfig config, Parameters trainable, String base) throws IOException {
        if (config.lora() == null) throw new IllegalArgumentException("only a LoRA model is written as adapters");
        write(out, config, trainable, base);
    }

    /**
     * A loaded model: its config and parameters; for a LoRA adapters file ({@link #writeAdapters}) the
     * parameters are the trainable part only and {@code base} says where the rest comes from (else null).
     */
    public record Loaded(GptConfig config, Parameters parameters, String base) {
        public Loaded(GptConfig config, Parameters parameters) {
            this(config, parameters, null);
        }

        public boolean adaptersOnly() {
            return base != null;
        }
    }

    /**
     * Reads weights written by {@link #write} (config from metadata) or a GPT-2-style file, whose
     * sizes come from its shapes and {@code nHeadsIfUnknown} (not recoverable from shapes).
     */
    public static Loaded read(InputStream in, String source, int nHeadsIfUnknown, DType dtype) throws IOException {
        return read(SafeTensors.read(in, source), source, nHeadsIfUnknown, dtype);
    }

    /** {@link #read(InputStream, String, int, DType)} on a file already read. */
    public static Loaded read(SafeTensors.Contents c, String source, int nHeadsIfUnknown, DType dtype) throws IOException {
        Map<String, SafeTensors.Entry> byName = byGpt2Name(c);
        GptConfig config = c.metadata().containsKey(CONFIG_KEY)
                ? JSON.readValue(c.metadata().get(CONFIG_KEY), GptConfig.class)
                : infer(byName, nHeadsIfUnknown, source);
        String base = c.metadata().get(BASE_KEY);
        if (base != null) return new Loaded(config, toParameters(byName, ParameterLayout.trainable(config), dtype, source, config), base);
        return new Loaded(config, toParameters(byName, config, dtype, source));
    }

    /** Reads a file into parameters for a given config, checking every name and shape. */
    public static Parameters read(InputStream in, String source, GptConfig expected, DType dtype) throws IOException {
        return toParameters(byGpt2Name(SafeTensors.read(in, source)), expected, dtype, source);
    }

    /** Tensors by GPT2Model name: a GPT2LMHeadModel's "transformer." prefix dropped, non-parameter buffers skipped. */
    static Map<String, SafeTensors.Entry> byGpt2Name(SafeTensors.Contents c) {
        Map<String, SafeTensors.Entry> byName = new LinkedHashMap<>();
        for (SafeTensors.Entry e : c.tensors().values()) {
            String name = e.name().startsWith("transformer.") ? e.name().substring("transformer.".length()) : e.name();
            if (IGNORED_SUFFIXES.stream().noneMatch(name::endsWith)) byName.put(name, e);
        }
        return byName;
    }

    /**
     * Copies every tensor of {@code target}'s layout that the file has (shapes checked) and leaves
     * the output heads the file lacks as they are: how a reward model or critic starts from an SFT
     * model's trunk. Returns the names left untouched; a missing trunk tensor is an error.
     */
    public static List<String> readTrunk(InputStream in, String source, Parameters target) throws IOException {
        return readTrunk(SafeTensors.read(in, source), source, target);
    }

    /** {@link #readTrunk(InputStream, String, Parameters)} on a file already read. */
    public static List<String> readTrunk(SafeTensors.Contents c, String source, Parameters target) throws IOException {
        return copyTrunk(byGpt2Name(c), source, target);
    }

    /** Whether a file holds a LoRA run's adapters alone ({@link #writeAdapters}): its metadata names their base. */
    public static boolean isAdapters(SafeTensors.Contents c) {
        return c.metadata().containsKey(BASE_KEY);
    }

    /** {@link #readTrunk} from tensors already read, by GPT-2 name (one file, or a Hugging Face directory's shards). */
    static List<String> copyTrunk(Map<String, SafeTensors.Entry> byName, String source, Parameters target) throws IOException {
        List<String> untouched = new ArrayList<>();
        for (ParameterLayout.Entry e : target.layout().entries().values()) {
            SafeTensors.Entry t = byName.get(e.name());
            if (t == null) {
                if (!isHead(e.name())) throw new IOException(source + ": missing tensor '" + e.name() + "' (shape " + Arrays.toString(e.shape()) + ")");
                untouched.add(e.name());
                continue;
            }
            long[] want = Arrays.stream(e.shape()).asLongStream().toArray();
            if (!Arrays.equals(want, t.shape()))
                throw new IOException(source + ": tensor '" + e.name() + "' has shape " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(want));
            target.get(e.name()).copyFrom(t.data(), 0);
        }
        return untouched;
    }

    /** Output heads and LoRA adapters: what a model may add to the trunk it starts from (they keep their fresh init). */
    private static boolean isHead(String name) {
        return name.startsWith("lm_head.") || name.startsWith("v_head.") || name.startsWith("score.") || name.contains(".lora_");
    }

    static Parameters toParameters(Map<String, SafeTensors.Entry> byName, GptConfig config, DType dtype, String source) throws IOException {
        return toParameters(byName, ParameterLayout.of(config), dtype, source, config);
    }

    private static Parameters toParameters(Map<String, SafeTensors.Entry> byName, ParameterLayout layout, DType dtype, String source, GptConfig config)
            throws IOException {
        Parameters p = Parameters.zeros(layout, dtype);
        for (ParameterLayout.Entry e : layout.entries().values()) {
            SafeTensors.Entry t = byName.get(e.name());
            if (t == null)
                throw new IOException(source + ": missing tensor '" + e.name() + "' (shape " + Arrays.toString(e.shape())
                        + ") required by " + describe(config));
            long[] want = Arrays.stream(e.shape()).asLongStream().toArray();
            if (!Arrays.equals(want, t.shape()))
                throw new IOException(source + ": tensor '" + e.name() + "' has shape " + Arrays.toString(t.shape())
                        + ", expected " + Arrays.toString(want) + " for " + describe(config));
            Tensor dst = p.get(e.name());
            dst.copyFrom(t.data(), 0);
        }
        return p;
    }

    private static String describe(GptConfig c) {
        return "vocab " + c.vocabSize() + ", context " + c.contextLength() + ", d_model " + c.dModel() + ", "
                + c.nLayers() + " layers, heads " + c.heads();
    }

    /** Sizes from a GPT-2-style file's shapes. */
    static GptConfig infer(Map<String, SafeTensors.Entry> t, int nHeads, String source) throws IOException {
        SafeTensors.Entry wte = t.get("wte.weight"), wpe = t.get("wpe.weight");
        if (wte == null || wpe == null || wte.shape().length != 2 || wpe.shape().length != 2)
            throw new IOException(source + ": cannot infer a GPT-2 config: need 2-D tensors 'wte.weight' and 'wpe.weight'");
        int layers = 0;
        while (t.containsKey("h." + layers + ".ln_1.weight")) layers++;
        if (layers == 0) throw new IOException(source + ": no transformer blocks found (expected tensors named h.0.*)");
        if (nHeads <= 0) throw new IOException(source + ": the file has no config; pass the number of attention heads (GPT-2 small: 12)");
        EnumSet<Head> heads = EnumSet.noneOf(Head.class);
        if (!t.containsKey("v_head.weight") && !t.containsKey("score.weight") || t.containsKey("lm_head.weight")) heads.add(Head.LM);
        if (t.containsKey("v_head.weight")) heads.add(Head.VALUE);
        if (t.containsKey("score.weight")) heads.add(Head.REWARD);
        boolean tied = !t.containsKey("lm_head.weight");
        return new GptConfig((int) wte.shape()[0], (int) wpe.shape()[0], (int) wte.shape()[1], nHeads, layers, tied, heads, 1e-5, 0.02);
    }
}
