package org.sparkrlhf.model;

import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tensor.Tensor;

/**
 * Everything the forward pass keeps for the backward pass, plus the backward pass's scratch space,
 * sized for one batch shape. A {@link Gpt} reuses it while the shape stays the same, so a training
 * step allocates nothing.
 */
final class Activations {
    final int batchSize, length, n;
    final Tensor encoded;
    final Layer[] layers;
    final Tensor lnf, lnfMean, lnfRstd;
    final Tensor logits, values, rewards;
    // backward scratch
    final Tensor dResidual, dLn, dQkv, dAttY, dFch, dFchGelu, dLnf;
    final Tensor[] attScratch;
    /** LoRA's scratch: a dropped-out input or an input-sized gradient [n, 4d], and du [n, rank] (null without LoRA). */
    final Tensor loraScratch, loraDu;

    /** One transformer block's saved tensors. */
    static final class Layer {
        final Tensor ln1, ln1Mean, ln1Rstd, qkv, att, attY, residual2, ln2, ln2Mean, ln2Rstd, fch, fchGelu, residual3;
        /** Each adapted projection's saved LoRA values, by its index in {@link Lora#TARGETS} (null where none). */
        final LoraAdapter.Saved[] lora = new LoraAdapter.Saved[Lora.TARGETS.size()];

        /** With {@code withScores} false there is no [B, H, T, T] score block (decoding attends to its cache instead). */
        Layer(GptConfig c, DType dt, int n, int bsz, int t, boolean withScores) {
            this(dt, n, c.dModel(), bsz, c.nHeads(), t, withScores);
            for (int i = 0; i < lora.length; i++) {
                String target = Lora.TARGETS.get(i);
                if (!c.adapts(target)) continue;
                int in = Lora.shape(target, c.dModel())[0];
                lora[i] = new LoraAdapter.Saved(Tensor.zeros(dt, n * c.lora().rank()), c.lora().dropout() > 0 ? Tensor.zeros(dt, n * in) : null);
            }
        }

        private Layer(DType dt, int n, int d, int bsz, int heads, int t, boolean withScores) {
            ln1 = Tensor.zeros(dt, n * d);
            ln1Mean = Tensor.zeros(dt, n);
            ln1Rstd = Tensor.zeros(dt, n);
            qkv = Tensor.zeros(dt, n * 3 * d);
            att = withScores ? Tensor.zeros(dt, bsz * heads * t * t) : null;
            attY = Tensor.zeros(dt, n * d);
            residual2 = Tensor.zeros(dt, n * d);
            ln2 = Tensor.zeros(dt, n * d);
            ln2Mean = Tensor.zeros(dt, n);
            ln2Rstd = Tensor.zeros(dt, n);
            fch = Tensor.zeros(dt, n * 4 * d);
            fchGelu = Tensor.zeros(dt, n * 4 * d);
            residual3 = Tensor.zeros(dt, n * d);
        }
    }

    Activations(GptConfig c, DType dt, int batchSize, int length) {
        this.batchSize = batchSize;
        this.length = length;
        this.n = batchSize * length;
        int d = c.dModel();
        encoded = Tensor.zeros(dt, n * d);
        layers = new Layer[c.nLayers()];
        for (int l = 0; l < layers.length; l++) layers[l] = new Layer(c, dt, n, batchSize, length, true);
        lnf = Tensor.zeros(dt, n * d);
        lnfMean = Tensor.zeros(dt, n);
        lnfRstd = Tensor.zeros(dt, n);
        logits = c.has(Head.LM) ? Tensor.zeros(dt, n * c.vocabSize()) : null;
        values = c.has(Head.VALUE) ? Tensor.zeros(dt, n) : null;
        rewards = c.has(Head.REWARD) ? Tensor.zeros(dt, batchSize) : null;
        dResidual = Tensor.zeros(dt, n * d);
        dLn = Tensor.zeros(dt, n * d);
        dQkv = Tensor.zeros(dt, n * 3 * d);
        dAttY = Tensor.zeros(dt, n * d);
        dFch = Tensor.zeros(dt, n * 4 * d);
        dFchGelu = Tensor.zeros(dt, n * 4 * d);
        dLnf = Tensor.zeros(dt, n * d);
        loraScratch = c.lora() == null ? null : Tensor.zeros(dt, n * 4 * d);
        loraDu = c.lora() == null ? null : Tensor.zeros(dt, n * c.lora().rank());
        attScratch = new Tensor[org.sparkrlhf.tensor.Parallel.threads()];
        for (int i = 0; i < attScratch.length; i++) attScratch[i] = Tensor.zeros(dt, length * length);
    }

    boolean fits(int b, int t) {
        return b == batchSize && t == length && attScratch.length >= org.sparkrlhf.tensor.Parallel.threads();
    }
}
