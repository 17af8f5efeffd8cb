package org.sparkrlhf.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkrlhf.loss.LanguageModelLoss;
import org.sparkrlhf.preference.BradleyTerryLoss;
import org.sparkrlhf.preference.SafetyLabelLoss;
import org.sparkrlhf.rl.PpoPolicyLoss;
import org.sparkrlhf.rl.ValueLoss;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tensor.Tensor;

/** Every gradient path of the model and its losses, against finite differences in float64. */
class GptGradientTest {
    static final int V = 11, T = 6, B = 3;

    static GptConfig tiny(Head... heads) {
        return GptConfig.of(V, 8, 8, 2, 2).withHeads(heads);
    }

    /** Rows of different kinds: left padding (a prompt), right padding (a short sequence), full. */
    static Batch paddedBatch() {
        SplittableRandom r = new SplittableRandom(7);
        int[] toks = new int[B * T];
        for (int i = 0; i < toks.length; i++) toks[i] = r.nextInt(V);
        return new Batch(toks, B, T, new int[]{2, 0, 0}, new int[]{T, 4, T});
    }

    /** Model with non-trivial LayerNorm gains and biases so that every path carries gradient. */
    static Gpt model(GptConfig c) {
        Parameters p = Parameters.init(c, DType.FLOAT64, 42);
        SplittableRandom r = new SplittableRandom(3);
        Tensor f = p.flat();
        for (int i = 0; i < f.size(); i++) f.add(i, 0.1 * (r.nextDouble() - 0.5));
        return new Gpt(c, p);
    }

    @Test
    void maskedCrossEntropyThroughTiedModel() {
        checkLm(tiny(Head.LM));
    }

    @Test
    void maskedCrossEntropyThroughUntiedModel() {
        checkLm(tiny(Head.LM).withTiedLmHead(false));
    }

    private void checkLm(GptConfig c) {
        Gpt m = model(c);
        Batch batch = paddedBatch();
        int[] targets = new int[B * T];
        double[] weights = new double[B * T];
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++) {
                targets[b * T + t] = (b * 5 + t * 3) % V;
                weights[b * T + t] = batch.isReal(b, t) && t % 2 == 1 ? 1 : 0; // a "response" mask
            }
        Parameters grads = m.newGradients();
        Forward f = m.forward(batch);
        Tensor dLogits = Tensor.zeros(DType.FLOAT64, B * T * V);
        LanguageModelLoss.crossEntropy(f.logits(), V, targets, weights, dLogits);
        m.backward(f, dLogits, null, null, grads);
        GradientCheck.assertMatches("masked LM cross-entropy", m.parameters().flat(), grads.flat(),
                x -> LanguageModelLoss.crossEntropy(m.forward(batch).logits(), V, targets, weights, null), 1e-5, 1e-5);
    }

    @Test
    void clippedValueLossThroughValueHead() {
        Gpt m = model(tiny(Head.VALUE));
        Batch batch = paddedBatch();
        Forward f0 = m.forward(batch);
        double[] old = new double[B * T], ret = new double[B * T], mask = new double[B * T];
        for (int i = 0; i < B * T; i++) {
            // alternate: old value far (clipped branch may win) and near (unclipped)
            old[i] = f0.values().get(i) + (i % 3 == 0 ? 0.5 : 0.01);
            ret[i] = (i % 4) * 0.3 - 0.4;
            mask[i] = batch.isReal(i / T, i % T) ? 1 : 0;
        }
        Parameters grads = m.newGradients();
        Forward f = m.forward(batch);
        Tensor dv = Tensor.zeros(DType.FLOAT64, B * T);
        ValueLoss.compute(f.values(), old, ret, mask, 0.2, dv);
        m.backward(f, null, dv, null, grads);
        GradientCheck.assertMatches("clipped value loss", m.parameters().flat(), grads.flat(),
                x -> ValueLoss.compute(m.forward(batch).values(), old, ret, mask, 0.2, null), 1e-5, 1e-5);
    }

    @Test
    void bradleyTerryWithMarginThroughRewardHead() {
        Gpt m = model(tiny(Head.REWARD));
        Batch batch = paddedBatch();
        int[] chosen = {0, 0, 2}, rejected = {1, 2, 1};
        double[] margins = {0.0, 0.5, 1.0};
        Parameters grads = m.newGradients();
        Forward f = m.forward(batch);
        Tensor dr = Tensor.zeros(DType.FLOAT64, B);
        BradleyTerryLoss.compute(f.rewards(), chosen, rejected, margins, dr);
        m.backward(f, null, null, dr, grads);
        GradientCheck.assertMatches("Bradley-Terry loss", m.parameters().flat(), grads.flat(),
                x -> BradleyTerryLoss.compute(m.forward(batch).rewards(), chosen, rejected, margins, null).loss(), 1e-5, 1e-5);
    }

    @Test
    void safetyLabelsThroughRewardHead() {
        Gpt m = model(tiny(Head.REWARD));
        Batch batch = paddedBatch();
        int[] labels = {1, -1, 0}; // the third is unlabelled and adds nothing
        Parameters grads = m.newGradients();
        Forward f = m.forward(batch);
        Tensor dr = Tensor.zeros(DType.FLOAT64, B);
        SafetyLabelLoss.compute(f.rewards(), labels, 1.0, dr);
        assertEquals(0.0, dr.get(2));
        m.backward(f, null, null, dr, grads);
        GradientCheck.assertMatches("safety-label loss", m.parameters().flat(), grads.flat(),
                x -> SafetyLabelLoss.compute(m.forward(batch).rewards(), labels, 1.0, null).lossSum(), 1e-5, 1e-5);
    }

    @Test
    void ppoLossAtRatioOneCountsTheGradientOnce() {
        Gpt m = model(tiny(Head.LM));
        Batch batch = paddedBatch();
        int[] actions = new int[B * T];
        double[] adv = new double[B * T], mask = new double[B * T];
        for (int i = 0; i < B * T; i++) {
            actions[i] = (i * 7) % V;
            adv[i] = (i % 2 == 0 ? 1 : -1) * (0.5 + 0.1 * i);
            mask[i] = batch.isReal(i / T, i % T) ? 1 : 0;
        }
        Forward f0 = m.forward(batch);
        double[] old = new double[B * T];
        for (int i = 0; i < B * T; i++) old[i] = org.sparkrlhf.loss.Softmax.logProb(f0.logits(), i, V, actions[i]);
        checkPpo(m, batch, actions, old, adv, mask, 0.0);
        // independent of the model: at ratio 1 the gradient on the action logit is exactly -A (1 - p) / n
        Tensor d = Tensor.zeros(DType.FLOAT64, B * T * V);
        Forward f = m.forward(batch);
        PpoPolicyLoss.compute(f.logits(), V, actions, old, adv, mask, 0.2, 0.0, d);
        double n = Arrays.stream(mask).sum();
        int row = T + 1; // a real token of the second sequence
        double p = Math.exp(old[row]);
        assertEquals(-adv[row] * (1 - p) / n, d.get(row * V + actions[row]), 1e-12);
    }

    @Test
    void ppoLossOffPolicyWithClippingAndEntropy() {
        Gpt m = model(tiny(Head.LM));
        Batch batch = paddedBatch();
        int[] actions = new int[B * T];
        double[] adv = new double[B * T], mask = new double[B * T], old = new double[B * T];
        Forward f0 = m.forward(batch);
        for (int i = 0; i < B * T; i++) {
            actions[i] = (i * 5 + 1) % V;
            adv[i] = (i % 3 == 0 ? 1 : -0.7);
            mask[i] = batch.isReal(i / T, i % T) ? 1 : 0;
            // log-ratios of -0.5, 0.05, +0.5: clipped on both sides, and inside
            double shift = new double[]{0.5, -0.05, -0.5}[i % 3];
            old[i] = org.sparkrlhf.loss.Softmax.logProb(f0.logits(), i, V, actions[i]) + shift;
        }
        checkPpo(m, batch, actions, old, adv, mask, 0.01);
        PpoPolicyLoss.Result r = PpoPolicyLoss.compute(m.forward(batch).logits(), V, actions, old, adv, mask, 0.2, 0.01, null);
        assertEquals(true, r.clipFraction() > 0.3 && r.clipFraction() < 0.9, "some but not all tokens clipped: " + r.clipFraction());
    }

    private void checkPpo(Gpt m, Batch batch, int[] actions, double[] old, double[] adv, double[] mask, double entCoef) {
        Parameters grads = m.newGradients();
        Forward f = m.forward(batch);
        Tensor d = Tensor.zeros(DType.FLOAT64, B * T * V);
        PpoPolicyLoss.compute(f.logits(), V, actions, old, adv, mask, 0.2, entCoef, d);
        m.backward(f, d, null, null, grads);
        GradientCheck.assertMatches("PPO clipped loss", m.parameters().flat(), grads.flat(),
                x -> PpoPolicyLoss.compute(m.forward(batch).logits(), V, actions, old, adv, mask, 0.2, entCoef, null).loss(), 1e-6, 1e-5);
    }

    @Test
    void allHeadsTogetherAccumulate() {
        Gpt m = model(tiny(Head.LM, Head.VALUE, Head.REWARD));
        Batch batch = paddedBatch();
        int[] targets = new int[B * T];
        double[] w = new double[B * T], ret = new double[B * T];
        for (int i = 0; i < B * T; i++) {
            targets[i] = (i * 3) % V;
            w[i] = batch.isReal(i / T, i % T) ? 1 : 0;
            ret[i] = 0.1 * i;
        }
        int[] ch = {2}, rj = {0};
        java.util.function.Function<Forward, Double> total = f ->
                LanguageModelLoss.crossEntropy(f.logits(), V, targets, w, null)
                        + ValueLoss.compute(f.values(), ret, ret, w, 0, null)
                        + BradleyTerryLoss.compute(f.rewards(), ch, rj, null, null).loss();
        Parameters grads = m.newGradients();
        Forward f = m.forward(batch);
        Tensor dl = Tensor.zeros(DType.FLOAT64, B * T * V), dv = Tensor.zeros(DType.FLOAT64, B * T), dr = Tensor.zeros(DType.FLOAT64, B);
        LanguageModelLoss.crossEntropy(f.logits(), V, targets, w, dl);
        ValueLoss.compute(f.values(), ret, ret, w, 0, dv);
        BradleyTerryLoss.compute(f.rewards(), ch, rj, null, dr);
        m.backward(f, dl, dv, dr, grads);
        GradientCheck.assertMatches("LM + value + reward", m.parameters().flat(), grads.flat(),
                x -> total.apply(m.forward(batch)), 1e-5, 1e-5);
    }
}
