package org.sparkrlhf.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.sparkrlhf.loss.LanguageModelLoss;
import org.sparkrlhf.optim.AdamW;
import org.sparkrlhf.optim.LrSchedule;
import org.sparkrlhf.preference.BradleyTerryLoss;
import org.sparkrlhf.rl.ValueLoss;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tensor.Parallel;
import org.sparkrlhf.tensor.Tensor;

/**
 * The float32 kernels (vectorized, multi-threaded, approximate exp/tanh) agree with the float64
 * reference path that the finite-difference tests prove, on every output and every gradient.
 */
class Float32PathTest {

    @AfterEach
    void oneThread() {
        Parallel.setThreads(1);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void float32MatchesFloat64ReferenceOnOutputsGradientsAndUpdates(int threads) {
        Parallel.setThreads(threads);
        GptConfig c = GptConfig.of(37, 24, 32, 4, 2).withHeads(Head.LM, Head.VALUE, Head.REWARD).withTiedLmHead(false);
        int bsz = 8, t = 20, n = bsz * t;
        java.util.SplittableRandom r = new java.util.SplittableRandom(1);
        int[] toks = new int[n], targets = new int[n], start = new int[bsz], end = new int[bsz];
        for (int i = 0; i < n; i++) {
            toks[i] = r.nextInt(c.vocabSize());
            targets[i] = r.nextInt(c.vocabSize());
        }
        for (int b = 0; b < bsz; b++) {
            start[b] = b % 3 == 0 ? b / 3 : 0;
            end[b] = b % 3 == 1 ? t - b : t;
        }
        Batch batch = new Batch(toks, bsz, t, start, end);
        double[] w = new double[n], ret = new double[n];
        for (int i = 0; i < n; i++) {
            w[i] = batch.isReal(i / t, i % t) ? 1 : 0;
            ret[i] = r.nextDouble() - 0.5;
        }
        Parameters p64 = Parameters.init(c, DType.FLOAT64, 11);
        Gpt m64 = new Gpt(c, p64), m32 = new Gpt(c, p64.toDType(DType.FLOAT32));
        Parameters g64 = run(m64, batch, targets, w, ret), g32 = run(m32, batch, targets, w, ret);

        assertClose("gradients", g64, g32, 2e-3);
        AdamW o64 = new AdamW(AdamW.Config.defaults(LrSchedule.constant(1e-2)), p64.layout(), DType.FLOAT64);
        AdamW o32 = new AdamW(AdamW.Config.defaults(LrSchedule.constant(1e-2)), p64.layout(), DType.FLOAT32);
        o64.step(m64.parameters(), g64);
        o32.step(m32.parameters(), g32);
        assertClose("parameters after one AdamW step", m64.parameters(), m32.parameters(), 2e-3);
    }

    private static Parameters run(Gpt m, Batch batch, int[] targets, double[] w, double[] ret) {
        DType dt = m.parameters().dtype();
        int n = batch.batchSize() * batch.length(), v = m.config().vocabSize();
        Forward f = m.forward(batch);
        Tensor dl = Tensor.zeros(dt, n * v), dv = Tensor.zeros(dt, n), dr = Tensor.zeros(dt, batch.batchSize());
        LanguageModelLoss.crossEntropy(f.logits(), v, targets, w, dl);
        ValueLoss.compute(f.values(), ret, ret, w, 0.2, dv);
        BradleyTerryLoss.compute(f.rewards(), new int[]{0, 2, 4}, new int[]{1, 3, 5}, null, dr);
        Parameters g = m.newGradients();
        m.backward(f, dl, dv, dr, g);
        return g;
    }

    /**
     * Tensor by tensor: |a - b| <= tol * max|a| over that tensor, element-wise, and no tensor is
     * trivially zero. Scaling per tensor (not by the largest value of all) checks small gradients
     * (a LayerNorm bias, a head) as closely as large ones.
     */
    static void assertClose(String what, Parameters ref, Parameters got, double tol) {
        int nonZero = 0;
        for (var e : ref.layout().entries().entrySet()) {
            Tensor a = ref.get(e.getKey()), b = got.get(e.getKey());
            double scale = 0;
            for (int i = 0; i < a.size(); i++) scale = Math.max(scale, Math.abs(a.get(i)));
            if (scale == 0) { // exactly zero in the reference (the reward bias: Bradley-Terry sees only differences): float32 must agree
                for (int i = 0; i < a.size(); i++) assertTrue(Math.abs(b.get(i)) <= 1e-6, what + ": " + e.getKey() + " should be zero, is " + b.get(i));
                continue;
            }
            nonZero++;
            for (int i = 0; i < a.size(); i++)
                if (Math.abs(a.get(i) - b.get(i)) > tol * scale)
                    assertArrayEquals(new double[]{a.get(i)}, new double[]{b.get(i)}, tol * scale, what + ": " + e.getKey() + " differs at " + i);
        }
        assertTrue(nonZero > ref.layout().entries().size() / 2, what + ": most tensors are zero");
    }
}
