package org.sparkrlhf.model;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Sizes of a GPT-2-style decoder. Immutable and validated on construction, so a model can never be
 * built from an inconsistent config; every error names the field and the fix.
 *
 * @param vocabSize     tokens in the vocabulary (embedding rows)
 * @param contextLength longest sequence, in tokens (position-embedding rows)
 * @param dModel        width of the residual stream
 * @param nHeads        attention heads; must divide dModel
 * @param nLayers       transformer blocks
 * @param tiedLmHead    whether the LM head reuses the token embedding (GPT-2 does)
 * @param heads         which output heads the model carries
 * @param layerNormEps  epsilon inside LayerNorm (GPT-2: 1e-5)
 * @param initStd       standard deviation of the normal weight init (GPT-2: 0.02)
 * @param lora          LoRA adapters on the projections (their base weights frozen), or null
 */
public record GptConfig(int vocabSize, int contextLength, int dModel, int nHeads, int nLayers,
                        boolean tiedLmHead, Set<Head> heads, double layerNormEps, double initStd, Lora lora)
        implements java.io.Serializable {

    /** Without LoRA adapters. */
    public GptConfig(int vocabSize, int contextLength, int dModel, int nHeads, int nLayers, boolean tiedLmHead, Set<Head> heads,
                     double layerNormEps, double initStd) {
        this(vocabSize, contextLength, dModel, nHeads, nLayers, tiedLmHead, heads, layerNormEps, initStd, null);
    }

    public GptConfig {
        heads = heads == null || heads.isEmpty() ? EnumSet.noneOf(Head.class) : EnumSet.copyOf(heads);
        List<String> errors = new ArrayList<>();
        positive(errors, "vocabSize", vocabSize);
        positive(errors, "contextLength", contextLength);
        positive(errors, "dModel", dModel);
        positive(errors, "nHeads", nHeads);
        positive(errors, "nLayers", nLayers);
        if (nHeads > 0 && dModel > 0 && dModel % nHeads != 0)
            errors.add("dModel (" + dModel + ") must be divisible by nHeads (" + nHeads + ")");
        if (heads.isEmpty()) errors.add("heads must name at least one of " + EnumSet.allOf(Head.class));
        if (!(layerNormEps > 0)) errors.add("layerNormEps must be > 0, got " + layerNormEps);
        if (!(initStd > 0)) errors.add("initStd must be > 0, got " + initStd);
        if (!errors.isEmpty()) throw new IllegalArgumentException("invalid GptConfig: " + String.join("; ", errors));
        heads = Set.copyOf(heads);
    }

    private static void positive(List<String> errors, String name, int v) {
        if (v <= 0) errors.add(name + " must be > 0, got " + v);
    }

    /** A policy-shaped config (tied LM head, GPT-2 defaults for the rest). */
    public static GptConfig of(int vocabSize, int contextLength, int dModel, int nHeads, int nLayers) {
        return new GptConfig(vocabSize, contextLength, dModel, nHeads, nLayers, true, EnumSet.of(Head.LM), 1e-5, 0.02);
    }

    public GptConfig withHeads(Head... newHeads) {
        return new GptConfig(vocabSize, contextLength, dModel, nHeads, nLayers, tiedLmHead,
                newHeads.length == 0 ? Set.of() : EnumSet.of(newHeads[0], newHeads), layerNormEps, initStd, lora);
    }

    public GptConfig withTiedLmHead(boolean tied) {
        return new GptConfig(vocabSize, contextLength, dModel, nHeads, nLayers, tied, heads, layerNormEps, initStd, lora);
    }

    /** This model with LoRA adapters (null: none). */
    public GptConfig withLora(Lora adapters) {
        return new GptConfig(vocabSize, contextLength, dModel, nHeads, nLayers, tiedLmHead, heads, layerNormEps, initStd, adapters);
    }

    /** The frozen base model under the adapters. */
    public GptConfig base() {
        return withLora(null);
    }

    /** Whether the projection {@code target} (c_attn, attn.c_proj, c_fc, mlp.c_proj) carries an adapter. */
    public boolean adapts(String target) {
        return lora != null && lora.targets().contains(target);
    }

    public int headDim() {
        return dModel / nHeads;
    }

    public boolean has(Head h) {
        return heads.contains(h);
    }

    /** Matrix-multiply FLOPs of one forward pass over {@code batch} sequences of {@code t} tokens. */
    public double forwardFlops(int batch, int t) {
        double n = (double) batch * t;
        double perLayer = 2 * n * dModel * (3.0 * dModel + dModel + 8.0 * dModel)
                + 2.0 * 2 * batch * (double) t * t * dModel; // QK^T and PV over all heads
        double head = has(Head.LM) ? 2 * n * dModel * vocabSize : 0;
        return nLayers * perLayer + head;
    }
}
