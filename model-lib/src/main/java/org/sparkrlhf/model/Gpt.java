package org.sparkrlhf.model;

import org.sparkrlhf.tensor.Blas;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tensor.Tensor;

/**
 * A GPT-2 decoder: token + learned position embeddings, pre-LayerNorm blocks of causal multi-head
 * attention and a GELU MLP, a final LayerNorm, then the configured heads. Forward and backward
 * passes are written out by hand (checked against finite differences in the tests); matrix
 * products run on BLAS, the rest in plain Java.
 *
 * <p>Not thread-safe: a model owns one workspace. A frozen reference model is simply a second
 * {@code Gpt} on a copy of the parameters that never runs backward.
 */
public final class Gpt {
    private final GptConfig config;
    private final Parameters params;
    private final ParameterLayout layout;
    private Activations acts;
    private Forward lastForward;
    private java.util.SplittableRandom dropout; // LoRA dropout's generator for the next forward pass, or null (no dropout)

    public Gpt(GptConfig config, Parameters params) {
        ParameterLayout expected = ParameterLayout.of(config);
        if (params.layout().size() != expected.size() || !params.layout().entries().keySet().equals(expected.entries().keySet()))
            throw new IllegalArgumentException("parameters do not match the config: expected " + expected.size()
                    + " values in " + expected.entries().size() + " tensors, got " + params.layout().size());
        this.config = config;
        this.params = params;
        this.layout = params.layout();
    }

    public static Gpt init(GptConfig config, DType dtype, long seed) {
        return new Gpt(config, Parameters.init(config, dtype, seed));
    }

    public GptConfig config() {
        return config;
    }

    public Parameters parameters() {
        return params;
    }

    /** A model on a copy of these parameters: the frozen reference (or a snapshot) that later updates do not touch. */
    public Gpt frozenCopy() {
        return new Gpt(config, params.copy());
    }

    /** A fresh gradient buffer with this model's layout, all zeros. */
    public Parameters newGradients() {
        return Parameters.zeros(layout, params.dtype());
    }

    /**
     * Draws LoRA dropout masks in the next forward passes from {@code seed} (a trainer sets it per
     * micro-batch, so a rerun draws the same masks); null turns dropout off (evaluation, sampling).
     */
    public void setDropoutSeed(Long seed) {
        this.dropout = seed == null ? null : new java.util.SplittableRandom(seed);
    }

    /** What training updates: every parameter, or with LoRA the heads and adapters (a view of this model's buffer). */
    public Parameters trainable() {
        if (config.lora() == null) return params;
        ParameterLayout t = ParameterLayout.trainable(config);
        return new Parameters(t, params.flat().slice(layout.size() - t.size(), t.size()));
    }

    /** A zero gradient buffer for {@link #trainable()}: {@link #backward} fills only what it holds. */
    public Parameters newTrainableGradients() {
        return config.lora() == null ? newGradients() : Parameters.zeros(ParameterLayout.trainable(config), params.dtype());
    }

    /** The frozen base model under the adapters, sharing this model's memory (PPO's reference needs no copy). */
    public Gpt base() {
        if (config.lora() == null) return this;
        ParameterLayout b = ParameterLayout.of(config.base());
        return new Gpt(config.base(), new Parameters(b, params.flat().slice(0, b.size())));
    }

    /** A plain model (a copy) with each adapter folded into its weight: W + (alpha / rank) A B. */
    public Gpt merged() {
        Gpt base = base();
        Parameters m = base.parameters().copy();
        if (config.lora() == null) return new Gpt(config, m);
        int d = config.dModel(), r = config.lora().rank();
        for (int l = 0; l < config.nLayers(); l++)
            for (String target : Lora.TARGETS) {
                if (!config.adapts(target)) continue;
                String w = "h." + l + "." + Lora.weightOf(target);
                int[] io = Lora.shape(target, d);
                Blas.gemm(false, false, io[0], io[1], r, config.lora().scale(), p(w + ".lora_A"), p(w + ".lora_B"), 1.0, m.get(w + ".weight"));
            }
        return new Gpt(config.base(), m);
    }

    private Tensor p(String name) {
        return params.get(name);
    }

    public Forward forward(Batch batch) {
        batch.validate(config);
        int bsz = batch.batchSize(), t = batch.length(), d = config.dModel(), n = bsz * t;
        if (acts == null || !acts.fits(bsz, t)) acts = new Activations(config, params.dtype(), bsz, t);
        Activations a = acts;

        Embedding.forward(a.encoded, p("wte.weight"), p("wpe.weight"), batch, d);

        Tensor residual = a.encoded;
        for (int l = 0; l < config.nLayers(); l++) {
            Activations.Layer L = a.layers[l];
            Block.forward(params, config, l, residual, L, n, (qkv, y) -> Attention.forward(y, L.att, qkv, batch, config.nHeads(), d),
                    dropout, a.loraScratch);
            residual = L.residual3;
        }
        LayerNorm.forward(a.lnf, a.lnfMean, a.lnfRstd, residual, p("ln_f.weight"), p("ln_f.bias"), n, d, config.layerNormEps());

        if (a.logits != null) Blas.gemm(false, true, n, config.vocabSize(), d, 1.0, a.lnf, lmHead(), 0.0, a.logits);
        if (a.values != null) scalarHead(a.values, p("v_head.weight"), p("v_head.bias").get(0), a.lnf, n, d, null, t);
        if (a.rewards != null) scalarHead(a.rewards, p("score.weight"), p("score.bias").get(0), a.lnf, bsz, d, batch.end(), t);
        lastForward = new Forward(batch, a.logits, a.values, a.rewards);
        return lastForward;
    }

    private Tensor lmHead() {
        return config.tiedLmHead() ? p("wte.weight") : p("lm_head.weight");
    }

    /** out[i] = lnf[row(i)] . w + bias, where row(i) = i, or the last real token of row i when ends != null. */
    static void scalarHead(Tensor out, Tensor w, double bias, Tensor lnf, int count, int d, int[] ends, int t) {
        for (int i = 0; i < count; i++) {
            int row = (ends == null ? i : i * t + ends[i] - 1) * d;
            double s = bias;
            for (int j = 0; j < d; j++) s += lnf.get(row + j) * w.get(j);
            out.set(i, s);
        }
    }

    /**
     * Adds to {@code grads} the gradient of a loss whose gradients with respect to this forward
     * pass's outputs are given (null for a head the loss does not use). Must follow the forward pass
     * it refers to, with no other forward pass in between.
     */
    public void backward(Forward fwd, Tensor dLogits, Tensor dValues, Tensor dRewards, Parameters grads) {
        Activations a = acts;
        Batch batch = fwd.batch();
        if (fwd != lastForward)
            throw new IllegalStateException("backward must follow its own forward pass on this model");
        int bsz = batch.batchSize(), t = batch.length(), d = config.dModel(), n = bsz * t;
        // a gradient buffer may hold only what trains (LoRA: heads and adapters): frozen tensors get none and their products are skipped
        java.util.function.Function<String, Tensor> g = name -> grads.layout().contains(name) ? grads.get(name) : null;

        // heads -> gradient of the final LayerNorm's output
        a.dLnf.zero();
        if (dLogits != null) {
            Blas.gemm(false, false, n, d, config.vocabSize(), 1.0, dLogits, lmHead(), 1.0, a.dLnf);
            Tensor dHead = config.tiedLmHead() ? g.apply("wte.weight") : g.apply("lm_head.weight");
            if (dHead != null) Blas.gemm(true, false, config.vocabSize(), d, n, 1.0, dLogits, a.lnf, 1.0, dHead);
        }
        if (dValues != null)
            scalarHeadBackward(a.dLnf, g.apply("v_head.weight"), g.apply("v_head.bias"), p("v_head.weight"), dValues, a.lnf, n, d, null, t);
        if (dRewards != null)
            scalarHeadBackward(a.dLnf, g.apply("score.weight"), g.apply("score.bias"), p("score.weight"), dRewards, a.lnf, bsz, d, batch.end(), t);

        Tensor lastResidual = a.layers[config.nLayers() - 1].residual3;
        a.dResidual.zero();
        LayerNorm.backward(a.dResidual, g.apply("ln_f.weight"), g.apply("ln_f.bias"), a.dLnf, lastResidual, p("ln_f.weight"), a.lnfMean, a.lnfRstd, n, d);

        // blocks, last to first; dResidual carries the residual stream's gradient
        for (int l = config.nLayers() - 1; l >= 0; l--) {
            Activations.Layer L = a.layers[l];
            Tensor residual = l == 0 ? a.encoded : a.layers[l - 1].residual3;
            String h = "h." + l + ".";
            projectBackward(3, l, a.dFchGelu, a.dResidual, L.fchGelu, L, a, g, n);
            Gelu.backward(a.dFch, a.dFchGelu, L.fch, n * 4 * d);
            projectBackward(2, l, a.dLn, a.dFch, L.ln2, L, a, g, n);
            LayerNorm.backward(a.dResidual, g.apply(h + "ln_2.weight"), g.apply(h + "ln_2.bias"), a.dLn, L.residual2, p(h + "ln_2.weight"), L.ln2Mean, L.ln2Rstd, n, d);
            projectBackward(1, l, a.dAttY, a.dResidual, L.attY, L, a, g, n);
            Attention.backward(a.dQkv, a.dAttY, L.att, L.qkv, a.attScratch, batch, config.nHeads(), d);
            projectBackward(0, l, a.dLn, a.dQkv, L.ln1, L, a, g, n);
            LayerNorm.backward(a.dResidual, g.apply(h + "ln_1.weight"), g.apply(h + "ln_1.bias"), a.dLn, residual, p(h + "ln_1.weight"), L.ln1Mean, L.ln1Rstd, n, d);
        }

        Embedding.backward(g.apply("wte.weight"), g.apply("wpe.weight"), a.dResidual, batch, d);
    }

    /** Projection {@code Lora.TARGETS[i]} of block l: dx (overwritten) and the gradients of W, b and its adapters. */
    private void projectBackward(int i, int l, Tensor dx, Tensor dout, Tensor x, Activations.Layer L, Activations a,
                                 java.util.function.Function<String, Tensor> g, int n) {
        String target = Lora.TARGETS.get(i), w = "h." + l + "." + Lora.weightOf(target);
        int[] io = Lora.shape(target, config.dModel());
        Linear.backward(dx, false, g.apply(w + ".weight"), g.apply(w + ".bias"), dout, x, p(w + ".weight"), n, io[0], io[1]);
        if (L.lora[i] != null)
            LoraAdapter.backward(dx, g.apply(w + ".lora_A"), g.apply(w + ".lora_B"), dout, x, p(w + ".lora_A"), p(w + ".lora_B"), config.lora().scale(),
                    L.lora[i], n, io[0], config.lora().rank(), io[1], a.loraDu, a.loraScratch);
    }

    private static void scalarHeadBackward(Tensor dLnf, Tensor dW, Tensor dB, Tensor w, Tensor dOut, Tensor lnf,
                                           int count, int d, int[] ends, int t) {
        for (int i = 0; i < count; i++) {
            double go = dOut.get(i);
            if (go == 0.0) continue;
            int row = (ends == null ? i : i * t + ends[i] - 1) * d;
            for (int j = 0; j < d; j++) {
                dLnf.add(row + j, go * w.get(j));
                if (dW != null) dW.add(j, go * lnf.get(row + j));
            }
            if (dB != null) dB.add(0, go);
        }
    }
}
