package org.sparkrlhf.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.sparkrlhf.loss.LanguageModelLoss;
import org.sparkrlhf.optim.AdamW;
import org.sparkrlhf.optim.LrSchedule;
import org.sparkrlhf.rl.PpoPolicyLoss;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tensor.FastMath;
import org.sparkrlhf.tensor.Parallel;
import org.sparkrlhf.tensor.Tensor;

class ModelBasicsTest {

    @AfterEach
    void oneThread() {
        Parallel.setThreads(1);
    }

    @Test
    void configErrorsNameTheField() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GptConfig.of(256, 64, 130, 4, 2));
        assertTrue(e.getMessage().contains("dModel (130) must be divisible by nHeads (4)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> GptConfig.of(0, 64, 128, 4, -1));
        assertTrue(e.getMessage().contains("vocabSize must be > 0") && e.getMessage().contains("nLayers must be > 0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> GptConfig.of(8, 8, 8, 2, 1).withHeads());
    }

    @Test
    void badBatchesFailBeforeAnyWork() {
        Gpt m = Gpt.init(GptConfig.of(10, 4, 8, 2, 1), DType.FLOAT32, 1);
        IllegalArgumentException vocab = assertThrows(IllegalArgumentException.class, () -> m.forward(Batch.dense(new int[]{1, 2, 10, 3}, 1, 4)));
        assertTrue(vocab.getMessage().contains("token id 10 at row 0, column 2"), vocab.getMessage());
        IllegalArgumentException ctx = assertThrows(IllegalArgumentException.class, () -> m.forward(Batch.dense(new int[5], 1, 5)));
        assertTrue(ctx.getMessage().contains("exceeds contextLength 4"), ctx.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Batch(new int[4], 1, 4, new int[]{3}, new int[]{3}));
        // backward needs its own forward pass
        Forward f = m.forward(Batch.dense(new int[4], 1, 4));
        m.forward(Batch.dense(new int[4], 1, 4));
        assertThrows(IllegalStateException.class, () -> m.backward(f, Tensor.zeros(DType.FLOAT32, 40), null, null, m.newGradients()));
    }

    @Test
    void frozenReferenceIsUntouchedByPolicyUpdates() {
        GptConfig c = GptConfig.of(10, 4, 8, 2, 1);
        Gpt policy = Gpt.init(c, DType.FLOAT32, 1), reference = policy.frozenCopy();
        Batch b = Batch.dense(new int[]{1, 2, 3, 4}, 1, 4);
        double before = reference.forward(b).logits().get(3);
        Parameters g = policy.newGradients();
        Forward f = policy.forward(b);
        Tensor d = Tensor.zeros(DType.FLOAT32, 40);
        LanguageModelLoss.crossEntropy(f.logits(), 10, new int[]{2, 3, 4, 5}, new double[]{1, 1, 1, 1}, d);
        policy.backward(f, d, null, null, g);
        new AdamW(AdamW.Config.defaults(LrSchedule.constant(0.1)), g.layout(), DType.FLOAT32).step(policy.parameters(), g);
        assertEquals(before, reference.forward(b).logits().get(3), 0.0);
        assertTrue(policy.forward(b).logits().get(3) != before);
    }

    @Test
    void pureEntropyBonusGradientMatchesFiniteDifferences() {
        Tensor logits = Tensor.of(DType.FLOAT64, 0.3, -1.2, 2.0, 0.1, 0.7, -0.4);
        int[] actions = {1, 2};
        double[] zero = {0, 0}, mask = {1, 1}, old = {-1, -1};
        Tensor d = Tensor.zeros(DType.FLOAT64, 6);
        PpoPolicyLoss.compute(logits, 3, actions, old, zero, mask, 0.2, 1.0, d);
        GradientCheck.assertMatches("entropy bonus", logits, d,
                x -> PpoPolicyLoss.compute(x, 3, actions, old, zero, mask, 0.2, 1.0, null).loss(), 1e-6, 1e-6);
    }

    @Test
    void fastExpAndTanhAreFloatAccurate() {
        double worstExp = 0, worstTanh = 0;
        for (double x = -80; x <= 80; x += 1e-3) {
            worstExp = Math.max(worstExp, Math.abs(FastMath.expFloat((float) x) - Math.exp((float) x)) / Math.exp((float) x));
            worstTanh = Math.max(worstTanh, Math.abs(FastMath.tanhFloat((float) x) - Math.tanh((float) x)));
        }
        assertTrue(worstExp < 1e-6, "exp relative error " + worstExp);
        assertTrue(worstTanh < 1e-6, "tanh absolute error " + worstTanh);
        assertEquals(0f, FastMath.expFloat(-100f));
        float[] x = new float[200_001], out = new float[x.length], k = new float[x.length];
        for (int i = 0; i < x.length; i++) x[i] = Math.min(0f, -100f + i * 5e-4f);
        FastMath.expNonPositive(x, out, k, 0, x.length);
        double worst = 0;
        for (int i = 0; i < x.length; i++)
            if (x[i] > -87f) worst = Math.max(worst, Math.abs(out[i] - Math.exp(x[i])) / Math.exp(x[i]));
        assertTrue(worst < 1e-6, "vectorized exp relative error " + worst);
        assertTrue(out[0] < 1e-37 && out[x.length - 1] == 1f, out[0] + " " + out[x.length - 1]);
    }

    @Test
    void parallelLoopsCoverEveryRowOnceAndPropagateFailures() {
        Parallel.setThreads(2);
        AtomicInteger sum = new AtomicInteger();
        int[] hits = new int[1000];
        Parallel.forRange(1000, 1, (part, lo, hi) -> {
            for (int i = lo; i < hi; i++) hits[i]++;
            sum.addAndGet(hi - lo);
        });
        assertEquals(1000, sum.get());
        for (int h : hits) assertEquals(1, h);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Parallel.forRange(1000, 1, (part, lo, hi) -> {
            if (part == 1) throw new IllegalStateException("part one failed");
        }));
        assertEquals("part one failed", e.getMessage());
        // still usable after a failure
        Parallel.forRange(10, 1, (part, lo, hi) -> sum.addAndGet(hi - lo));
        assertEquals(1010, sum.get());
    }
}
