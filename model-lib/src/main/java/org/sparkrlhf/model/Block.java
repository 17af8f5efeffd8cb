package org.sparkrlhf.model;

import java.util.SplittableRandom;
import org.sparkrlhf.tensor.Tensor;

/**
 * One pre-LayerNorm transformer block over n rows: x + attn(ln_1(x)), then + mlp(ln_2(.)). The full
 * forward pass and KV-cache decoding run this same code; only where attention looks differs, so the
 * caller supplies it.
 */
final class Block {
    private Block() {}

    /** Causal self-attention from the fused QKV rows [n, 3d] to the heads' outputs [n, d]. */
    interface Attend {
        void apply(Tensor qkv, Tensor attY);
    }

    /**
     * Runs block {@code layer} on {@code in}, leaving every intermediate in {@code L} and the output in
     * {@code L.residual3} (which may be {@code in} itself: it is written after in's last read).
     */
    static void forward(Parameters p, GptConfig c, int layer, Tensor in, Activations.Layer L, int n, Attend attend,
                        SplittableRandom dropout, Tensor loraScratch) {
        int d = c.dModel();
        String h = "h." + layer + ".";
        LayerNorm.forward(L.ln1, L.ln1Mean, L.ln1Rstd, in, p.get(h + "ln_1.weight"), p.get(h + "ln_1.bias"), n, d, c.layerNormEps());
        project(p, c, h, 0, L, L.qkv, L.ln1, n, dropout, loraScratch);
        attend.apply(L.qkv, L.attY);
        project(p, c, h, 1, L, L.residual2, L.attY, n, dropout, loraScratch);
        L.residual2.addScaled(in, 1.0);
        LayerNorm.forward(L.ln2, L.ln2Mean, L.ln2Rstd, L.residual2, p.get(h + "ln_2.weight"), p.get(h + "ln_2.bias"), n, d, c.layerNormEps());
        project(p, c, h, 2, L, L.fch, L.ln2, n, dropout, loraScratch);
        Gelu.forward(L.fchGelu, L.fch, n * 4 * d);
        project(p, c, h, 3, L, L.residual3, L.fchGelu, n, dropout, loraScratch);
        L.residual3.addScaled(L.residual2, 1.0);
    }

    /** Projection {@code Lora.TARGETS[i]} of the block: out = x W + b, plus its LoRA path when adapted. */
    private static void project(Parameters p, GptConfig c, String h, int i, Activations.Layer L, Tensor out, Tensor x, int n,
                                SplittableRandom dropout, Tensor loraScratch) {
        String target = Lora.TARGETS.get(i), w = h + Lora.weightOf(target);
        int[] io = Lora.shape(target, c.dModel());
        Linear.forward(out, x, p.get(w + ".weight"), p.get(w + ".bias"), n, io[0], io[1]);
        if (L.lora[i] != null)
            LoraAdapter.forward(out, x, p.get(w + ".lora_A"), p.get(w + ".lora_B"), c.lora().scale(), c.lora().dropout(), dropout, L.lora[i],
                    n, io[0], c.lora().rank(), io[1], loraScratch);
    }
}
