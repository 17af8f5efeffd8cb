package org.sparkrlhf.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkrlhf.loss.LanguageModelLoss;
import org.sparkrlhf.rl.ValueLoss;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tensor.Tensor;

/** LoRA adapters: gradients by finite differences (with and without dropout), a frozen base, merging, the shared base. */
class LoraTest {
    static final int V = 11, T = 6, B = 3;
    static final Lora ALL = new Lora(2, 4.0, 0.0, Set.copyOf(Lora.TARGETS));

    /** A model with adapters whose B is not zero (at init it is, which would hide dA). */
    static Gpt model(GptConfig c) {
        Gpt m = GptGradientTest.model(c);
        SplittableRandom r = new SplittableRandom(9);
        for (ParameterLayout.Entry e : m.parameters().layout().entries().values())
            if (e.name().endsWith(".lora_B")) {
                Tensor t = m.parameters().get(e.name());
                for (int i = 0; i < t.size(); i++) t.set(i, 0.3 * (r.nextDouble() - 0.5));
            }
        return m;
    }

    static int[] targets() {
        int[] t = new int[B * T];
        for (int i = 0; i < t.length; i++) t[i] = (i * 7 + 3) % V;
        return t;
    }

    static double[] weights(Batch batch) {
        double[] w = new double[B * T];
        for (int i = 0; i < w.length; i++) w[i] = batch.isReal(i / T, i % T) ? 1 : 0;
        return w;
    }

    private static double lmLoss(Gpt m, Batch batch, Long seed) {
        m.setDropoutSeed(seed);
        return LanguageModelLoss.crossEntropy(m.forward(batch).logits(), V, targets(), weights(batch), null);
    }

    private static void checkLm(Lora lora, Long seed) {
        Gpt m = model(GptGradientTest.tiny(Head.LM).withLora(lora));
        Batch batch = GptGradientTest.paddedBatch();
        Parameters grads = m.newTrainableGradients();
        m.setDropoutSeed(seed);
        Forward f = m.forward(batch);
        Tensor d = Tensor.zeros(DType.FLOAT64, B * T * V);
        LanguageModelLoss.crossEntropy(f.logits(), V, targets(), weights(batch), d);
        m.backward(f, d, null, null, grads);
        assertEquals(ParameterLayout.trainable(m.config()).size(), grads.flat().size());
        GradientCheck.assertMatches("LoRA adapters" + (seed == null ? "" : " with dropout"), m.trainable().flat(), grads.flat(),
                x -> lmLoss(m, batch, seed), 1e-5, 1e-5);
    }

    @Test
    void adapterGradientsMatchFiniteDifferences() {
        checkLm(ALL, null);
        checkLm(new Lora(3, 1.5, 0.0, Set.of("c_fc", "attn.c_proj")), null);
    }

    @Test
    void adapterGradientsThroughDropoutMatchFiniteDifferencesForOneMask() {
        checkLm(new Lora(2, 4.0, 0.3, Set.copyOf(Lora.TARGETS)), 77L); // the same seed draws the same mask in every pass
    }

    @Test
    void valueHeadAndAdaptersTrainTogether() {
        Gpt m = model(GptGradientTest.tiny(Head.VALUE).withLora(ALL));
        Batch batch = GptGradientTest.paddedBatch();
        double[] old = new double[B * T], ret = new double[B * T], mask = new double[B * T];
        for (int i = 0; i < B * T; i++) {
            ret[i] = (i % 4) * 0.3 - 0.4;
            old[i] = ret[i] + 0.05;
            mask[i] = batch.isReal(i / T, i % T) ? 1 : 0;
        }
        Parameters grads = m.newTrainableGradients();
        assertTrue(grads.layout().contains("v_head.weight") && !grads.layout().contains("h.0.mlp.c_fc.weight"));
        Forward f = m.forward(batch);
        Tensor dv = Tensor.zeros(DType.FLOAT64, B * T);
        ValueLoss.compute(f.values(), old, ret, mask, 0.2, dv);
        m.backward(f, null, dv, null, grads);
        GradientCheck.assertMatches("value loss into head and adapters", m.trainable().flat(), grads.flat(),
                x -> ValueLoss.compute(m.forward(batch).values(), old, ret, mask, 0.2, null), 1e-5, 1e-5);
    }

    /** Skipping the frozen weights' products changes nothing in what does train. */
    @Test
    void theTrainableGradientIsTheFullGradientsAdapterPart() {
        Gpt m = model(GptGradientTest.tiny(Head.LM).withLora(ALL));
        Batch batch = GptGradientTest.paddedBatch();
        Parameters full = m.newGradients(), part = m.newTrainableGradients();
        for (Parameters g : new Parameters[] {full, part}) {
            Forward f = m.forward(batch);
            Tensor d = Tensor.zeros(DType.FLOAT64, B * T * V);
            LanguageModelLoss.crossEntropy(f.logits(), V, targets(), weights(batch), d);
            m.backward(f, d, null, null, g);
        }
        for (ParameterLayout.Entry e : part.layout().entries().values())
            assertArrayEquals(full.get(e.name()).toFloatArray(), part.get(e.name()).toFloatArray(), e.name());
        assertTrue(full.get("h.1.attn.c_attn.weight").sumOfSquares() > 0, "the full buffer did get the base's gradient");
    }

    @Test
    void mergedAndUnmergedModelsGiveTheSameLogits() {
        Gpt m = model(GptGradientTest.tiny(Head.LM).withLora(ALL));
        Batch batch = GptGradientTest.paddedBatch();
        Tensor unmerged = m.forward(batch).logits().copy();
        Gpt merged = m.merged();
        assertEquals(null, merged.config().lora());
        Tensor got = merged.forward(batch).logits();
        double worst = 0;
        for (int i = 0; i < got.size(); i++) worst = Math.max(worst, Math.abs(got.get(i) - unmerged.get(i)));
        assertTrue(worst < 1e-12, "merged logits differ by " + worst);
    }

    @Test
    void theBaseSharesMemoryAndFreshAdaptersChangeNothing() {
        GptConfig c = GptGradientTest.tiny(Head.LM).withLora(ALL);
        Gpt fresh = new Gpt(c, Parameters.init(c, DType.FLOAT64, 5)); // lora_B = 0
        Gpt base = fresh.base();
        Batch batch = GptGradientTest.paddedBatch();
        assertArrayEquals(base.forward(batch).logits().toFloatArray(), fresh.forward(batch).logits().toFloatArray());
        fresh.parameters().get("h.0.mlp.c_fc.lora_B").fill(0.5); // training moves only adapters...
        fresh.parameters().get("h.0.ln_1.weight").set(0, 1.25);   // ...but the base is the same memory
        assertEquals(1.25, base.parameters().get("h.0.ln_1.weight").get(0));
        assertFalse(java.util.Arrays.equals(base.forward(batch).logits().toFloatArray(), fresh.forward(batch).logits().toFloatArray()));
    }

    @Test
    void theDecoderAppliesTheAdaptersToo() {
        Gpt m = model(GptGradientTest.tiny(Head.LM).withLora(ALL));
        int[] toks = {3, 1, 4, 1, 5, 9};
        Tensor full = m.forward(Batch.dense(toks, 1, toks.length)).logits().copy();
        KvCache cache = new KvCache(m, 1, toks.length, new int[] {0});
        Decoder dec = new Decoder(m);
        Decoder.Step pre = dec.extend(cache, java.util.Arrays.copyOf(toks, 4), 4);
        double worst = 0;
        for (int i = 0; i < 4 * V; i++) worst = Math.max(worst, Math.abs(pre.logits().get(i) - full.get(i)));
        for (int t = 4; t < toks.length; t++) {
            Decoder.Step s = dec.extend(cache, new int[] {toks[t]}, 1);
            for (int j = 0; j < V; j++) worst = Math.max(worst, Math.abs(s.logits().get(j) - full.get(t * V + j)));
        }
        assertTrue(worst < 1e-12, "KV-cache logits differ by " + worst);
    }

    @Test
    void settingsAreValidatedNamingTheKey() {
        String m = assertThrows(IllegalArgumentException.class, () -> new Lora(0, 1, 1.2, Set.of("c_attn", "q_proj"))).getMessage();
        assertTrue(m.contains("lora.rank must be > 0") && m.contains("lora.dropout must be in [0, 1)") && m.contains("'q_proj' is not one of"), m);
    }
}
