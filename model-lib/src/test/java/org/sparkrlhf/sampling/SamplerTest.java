package org.sparkrlhf.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkrlhf.loss.Softmax;
import org.sparkrlhf.model.Batch;
import org.sparkrlhf.model.Decoder;
import org.sparkrlhf.model.Forward;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.Head;
import org.sparkrlhf.model.KvCache;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tensor.Tensor;

class SamplerTest {
    static final GptConfig CFG = GptConfig.of(23, 24, 16, 4, 2).withHeads(Head.LM, Head.VALUE);

    @Test
    void kvCacheLogitsEqualFullForwardWithLeftPadding() {
        for (DType dt : DType.values()) {
            Gpt m = Gpt.init(CFG, dt, 5);
            int[][] seqs = {{3, 4, 5, 6, 7, 8, 9, 10}, {11, 12, 13, 14, 15, 16}, {1, 2, 3, 4, 5, 6, 7, 8}};
            int width = 8, promptCols = 5, bsz = 3;
            int[] start = {0, 2, 0}, grid = new int[bsz * width];
            for (int b = 0; b < bsz; b++)
                for (int i = 0; i < seqs[b].length; i++) grid[b * width + start[b] + i] = seqs[b][i];
            // full pass over the padded grid
            Forward full = m.forward(new Batch(grid, bsz, width, start, new int[]{width, width, width}));
            Tensor fullLogits = full.logits().copy(), fullValues = full.values().copy();
            // prefill 5 columns, then one column at a time
            Decoder dec = new Decoder(m);
            KvCache cache = new KvCache(m, bsz, width, start);
            double tol = dt == DType.FLOAT64 ? 1e-10 : 2e-5;
            int col = 0;
            while (col < width) {
                int s = col == 0 ? promptCols : 1;
                int[] toks = new int[bsz * s];
                for (int b = 0; b < bsz; b++) System.arraycopy(grid, b * width + col, toks, b * s, s);
                Decoder.Step step = dec.extend(cache, toks, s);
                for (int b = 0; b < bsz; b++)
                    for (int i = 0; i < s; i++) {
                        if (col + i < start[b]) continue; // padding outputs are unused
                        int fullRow = b * width + col + i, stepRow = b * s + i;
                        for (int j = 0; j < CFG.vocabSize(); j++)
                            assertEquals(fullLogits.get(fullRow * CFG.vocabSize() + j), step.logits().get(stepRow * CFG.vocabSize() + j), tol,
                                    dt + " logit row " + b + " col " + (col + i));
                        assertEquals(fullValues.get(fullRow), step.values().get(stepRow), tol);
                    }
                col += s;
            }
        }
    }

    @Test
    void aSequenceSampleDoesNotDependOnItsBatch() {
        Gpt m = Gpt.init(CFG, DType.FLOAT32, 9);
        Sampler sampler = new Sampler(m, 0);
        SamplingConfig cfg = SamplingConfig.of(1.0, 10);
        int[] prompt = {5, 6, 7};
        Samples alone = sampler.sample(new int[][]{prompt}, new long[]{42}, cfg);
        Samples batched = sampler.sample(new int[][]{{1, 2, 3, 4, 5, 6, 7}, prompt, {9}}, new long[]{1, 42, 2}, cfg);
        assertArrayEquals(alone.tokens()[0], batched.tokens()[1]);
        for (int i = 0; i < alone.logProbs()[0].length; i++)
            assertEquals(alone.logProbs()[0][i], batched.logProbs()[1][i], 1e-5);
        Samples other = sampler.sample(new int[][]{prompt}, new long[]{43}, cfg);
        assertTrue(!java.util.Arrays.equals(alone.tokens()[0], other.tokens()[0]), "a different seed gives a different sample");
    }

    @Test
    void greedyFollowsTheFullForwardArgmaxAndReportsValues() {
        Gpt m = Gpt.init(CFG, DType.FLOAT64, 3);
        Samples s = new Sampler(m, 0).sample(new int[][]{{4, 5}}, new long[]{1}, SamplingConfig.of(0, 6).withValues(true));
        int[] seq = {4, 5, 0, 0, 0, 0, 0, 0};
        for (int i = 0; i < 6; i++) {
            Forward f = m.forward(Batch.dense(java.util.Arrays.copyOf(seq, 2 + i), 1, 2 + i));
            int best = 0;
            for (int j = 1; j < CFG.vocabSize(); j++) if (f.logits().get((1 + i) * CFG.vocabSize() + j) > f.logits().get((1 + i) * CFG.vocabSize() + best)) best = j;
            assertEquals(best, s.tokens()[0][i], "greedy token " + i);
            assertEquals(f.values().get(1 + i), s.values()[0][i], 1e-10);
            seq[2 + i] = best;
        }
    }

    @Test
    void stopTokensEndEachRowAndMaxNewTokensBoundsIt() {
        Gpt m = Gpt.init(CFG, DType.FLOAT32, 3);
        int[] all = new int[CFG.vocabSize()];
        for (int i = 0; i < all.length; i++) all[i] = i;
        Samples s = new Sampler(m, 0).sample(new int[][]{{1}, {2, 3}}, new long[]{1, 2}, SamplingConfig.of(1.0, 5, all));
        for (int b = 0; b < 2; b++) {
            assertEquals(1, s.tokens()[b].length);
            assertTrue(s.stopped()[b]);
        }
        Samples n = new Sampler(m, 0).sample(new int[][]{{1}}, new long[]{1}, SamplingConfig.of(1.0, 7));
        assertEquals(7, n.tokens()[0].length);
        assertTrue(!n.stopped()[0]);
    }

    @Test
    void chooserMatchesTemperatureTopKAndTopPDistributions() {
        Tensor logits = Tensor.of(DType.FLOAT64, 2.0, 1.0, 0.5, 0.0, -1.0);
        double[] lp = new double[1];
        // temperature 2: frequencies follow softmax(logits / 2), and the reported log-prob matches
        double[] expect = new double[5];
        double lse = Softmax.logSumExp(Tensor.of(DType.FLOAT64, 1.0, 0.5, 0.25, 0.0, -0.5), 0, 5);
        for (int j = 0; j < 5; j++) expect[j] = Math.exp(logits.get(j) / 2 - lse);
        double[] freq = frequencies(logits, SamplingConfig.of(2.0, 1), 200_000, lp);
        for (int j = 0; j < 5; j++) assertEquals(expect[j], freq[j], 0.005, "token " + j);
        // top-k 2: only the two best, renormalised
        double[] k2 = frequencies(logits, SamplingConfig.of(1.0, 1).withTopK(2), 100_000, lp);
        double p0 = 1 / (1 + Math.exp(-1.0));
        assertEquals(p0, k2[0], 0.005);
        assertEquals(1 - p0, k2[1], 0.005);
        assertEquals(0.0, k2[2] + k2[3] + k2[4]);
        // top-p 0.5: the first token alone holds more than half the mass
        double[] p = frequencies(logits, SamplingConfig.of(1.0, 1).withTopP(0.5), 10_000, lp);
        assertEquals(1.0, p[0], 1e-9);
    }

    private static double[] frequencies(Tensor logits, SamplingConfig cfg, int draws, double[] lp) {
        TokenChooser c = new TokenChooser(logits.size());
        SplittableRandom rng = new SplittableRandom(11);
        double[] f = new double[logits.size()];
        for (int i = 0; i < draws; i++) {
            int tok = c.choose(logits, 0, cfg, rng, lp);
            f[tok] += 1.0 / draws;
            double want = logits.get(tok) / cfg.temperature() - Softmax.logSumExp(scaled(logits, cfg.temperature()), 0, logits.size());
            if (i < 100) assertEquals(want, lp[0], 1e-12);
        }
        return f;
    }

    private static Tensor scaled(Tensor t, double temp) {
        Tensor s = t.copy();
        s.scale(1 / temp);
        return s;
    }

    @Test
    void badRequestsFailWithClearMessages() {
        Gpt m = Gpt.init(CFG, DType.FLOAT32, 3);
        Sampler s = new Sampler(m, 0);
        assertThrows(IllegalArgumentException.class, () -> s.sample(new int[][]{{}}, new long[]{1}, SamplingConfig.of(1, 2)));
        assertThrows(IllegalArgumentException.class, () -> s.sample(new int[][]{{1}}, new long[]{}, SamplingConfig.of(1, 2)));
        assertThrows(IllegalArgumentException.class, () -> s.sample(new int[][]{new int[24]}, new long[]{1}, SamplingConfig.of(1, 2)));
        assertThrows(IllegalArgumentException.class, () -> SamplingConfig.of(-1, 2));
        assertThrows(IllegalArgumentException.class, () -> SamplingConfig.of(1, 2).withTopP(0));
    }
}
