package org.sparkrlhf.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.GradientCheck;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.preference.DpoLoss;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tensor.Tensor;

/** DPO, IPO and conservative DPO: hand-computed values, and gradients through the model by finite differences. */
class DpoObjectiveTest {

    @Test
    void lossesMatchHandComputedValues() {
        DpoLoss.Settings dpo = new DpoLoss.Settings(0.5, DpoLoss.Kind.SIGMOID, 0.0);
        // h = (-1 - -2) - (-3 - -2.5) = 1 - (-0.5) = 1.5; z = 0.75
        DpoLoss.Result r = DpoLoss.of(-1, -3, -2, -2.5, dpo);
        double z = 0.75, sig = 1 / (1 + Math.exp(-z));
        assertEquals(1.5, r.margin(), 1e-15);
        assertEquals(-Math.log(sig), r.loss(), 1e-12);
        assertEquals(-0.5 * (1 - sig), r.dChosen(), 1e-12);
        assertEquals(0.5 * (1 - sig), r.dRejected(), 1e-12);
        DpoLoss.Result c = DpoLoss.of(-1, -3, -2, -2.5, new DpoLoss.Settings(0.5, DpoLoss.Kind.SIGMOID, 0.1));
        assertEquals(-0.9 * Math.log(sig) - 0.1 * Math.log(1 - sig), c.loss(), 1e-12);
        assertEquals(0.5 * (-0.9 * (1 - sig) + 0.1 * sig), c.dChosen(), 1e-12);
        DpoLoss.Result ipo = DpoLoss.of(-1, -3, -2, -2.5, new DpoLoss.Settings(0.5, DpoLoss.Kind.IPO, 0.0));
        assertEquals((1.5 - 1.0) * (1.5 - 1.0), ipo.loss(), 1e-15); // target 1 / (2 beta) = 1
        assertEquals(2 * 0.5, ipo.dChosen(), 1e-15);
        assertEquals(Math.log(2), DpoLoss.of(-1, -1, -1, -1, dpo).loss(), 1e-15);
        assertThrows(IllegalArgumentException.class, () -> new DpoLoss.Settings(0, DpoLoss.Kind.SIGMOID, 0));
        assertThrows(IllegalArgumentException.class, () -> new DpoLoss.Settings(0.1, DpoLoss.Kind.IPO, 0.1));
    }

    static List<DpoPair> pairs(int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<DpoPair> out = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            int prompt = 2 + r.nextInt(3);
            int[] c = r.ints(prompt + 1 + r.nextInt(4), 0, vocab).toArray(), rej = r.ints(prompt + 1 + r.nextInt(4), 0, vocab).toArray();
            System.arraycopy(c, 0, rej, 0, prompt); // a shared prompt
            out.add(new DpoPair(c, rej, prompt, -3 + r.nextDouble(), -3 + r.nextDouble()));
        }
        return out;
    }

    static void check(DpoLoss.Settings s) {
        GptConfig c = GptConfig.of(11, 12, 8, 2, 2);
        Gpt m = new Gpt(c, Parameters.init(c, DType.FLOAT64, 3));
        Tensor f = m.parameters().flat();
        SplittableRandom r = new SplittableRandom(4);
        for (int i = 0; i < f.size(); i++) f.add(i, 0.1 * (r.nextDouble() - 0.5));
        List<DpoPair> data = pairs(c.vocabSize(), 5);
        DpoObjective obj = new DpoObjective(s);
        Parameters grads = m.newGradients();
        obj.accumulate(m, data, 4, grads); // micro-batches of 2 pairs (4 sequences)
        GradientCheck.assertMatches("DPO " + s, f, grads.flat(), x -> obj.evaluate(m, data, 4).lossSum(), 1e-5, 1e-5);
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        check(new DpoLoss.Settings(0.3, DpoLoss.Kind.SIGMOID, 0.0));
        check(new DpoLoss.Settings(0.3, DpoLoss.Kind.SIGMOID, 0.2));
        check(new DpoLoss.Settings(0.3, DpoLoss.Kind.IPO, 0.0));
    }

    /** With the policy equal to the reference, every margin is 0 and the loss log 2 per pair. */
    @Test
    void aPolicyEqualToItsReferenceHasZeroMargins() {
        GptConfig c = GptConfig.of(11, 12, 8, 2, 2);
        Gpt m = new Gpt(c, Parameters.init(c, DType.FLOAT64, 3));
        List<DpoPair> raw = pairs(c.vocabSize(), 6), withRef = new ArrayList<>();
        double[][] ref = DpoObjective.referenceLogProbs(m, raw, 4);
        for (int i = 0; i < raw.size(); i++) withRef.add(raw.get(i).withReference(ref[i][0], ref[i][1]));
        DpoObjective obj = new DpoObjective(new DpoLoss.Settings(0.1, DpoLoss.Kind.SIGMOID, 0.0));
        double[] margins = new double[withRef.size()];
        obj.evaluate(m, withRef, 4, margins);
        for (double margin : margins) assertEquals(0.0, margin, 1e-12);
        assertEquals(raw.size() * Math.log(2), obj.evaluate(m, withRef, 3).lossSum(), 1e-9);
    }
}
