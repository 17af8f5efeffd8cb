package org.sparkrlhf.model;

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
    static void forward(Parameters p, GptConfig c, int layer, Tensor in, Activations.Layer L, int n, Attend attend) {
        int d = c.dModel();
        String h = "h." + layer + ".";
        LayerNorm.forward(L.ln1, L.ln1Mean, L.ln1Rstd, in, p.get(h + "ln_1.weight"), p.get(h + "ln_1.bias"), n, d, c.layerNormEps());
        Linear.forward(L.qkv, L.ln1, p.get(h + "attn.c_attn.weight"), p.get(h + "attn.c_attn.bias"), n, d, 3 * d);
        attend.apply(L.qkv, L.attY);
        Linear.forward(L.residual2, L.attY, p.get(h + "attn.c_proj.weight"), p.get(h + "attn.c_proj.bias"), n, d, d);
        L.residual2.addScaled(in, 1.0);
        LayerNorm.forward(L.ln2, L.ln2Mean, L.ln2Rstd, L.residual2, p.get(h + "ln_2.weight"), p.get(h + "ln_2.bias"), n, d, c.layerNormEps());
        Linear.forward(L.fch, L.ln2, p.get(h + "mlp.c_fc.weight"), p.get(h + "mlp.c_fc.bias"), n, d, 4 * d);
        Gelu.forward(L.fchGelu, L.fch, n * 4 * d);
        Linear.forward(L.residual3, L.fchGelu, p.get(h + "mlp.c_proj.weight"), p.get(h + "mlp.c_proj.bias"), n, 4 * d, d);
        L.residual3.addScaled(L.residual2, 1.0);
    }
}
