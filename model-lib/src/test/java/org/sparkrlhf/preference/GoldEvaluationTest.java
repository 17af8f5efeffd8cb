package org.sparkrlhf.preference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class GoldEvaluationTest {

    @Test
    void bestOfNKlByHand() {
        assertEquals(0.0, GoldEvaluation.bestOfNKl(1), 0.0);
        assertEquals(Math.log(4) - 0.75, GoldEvaluation.bestOfNKl(4), 1e-15); // 0.6363
        assertEquals(Math.log(64) - 63.0 / 64, GoldEvaluation.bestOfNKl(64), 1e-15); // 3.1744
    }

    @Test
    void bestOfNPicksByProxyAndScoresByGold() {
        // prompt 1: proxy prefers sample 2 (gold 0.1) among the first 3; prompt 2: sample 0 (gold 0.9)
        List<double[]> proxy = List.of(new double[]{0.1, 0.2, 0.9, 5.0}, new double[]{1.0, 0.5, 0.2, 0.0});
        List<double[]> gold = List.of(new double[]{0.5, 0.7, 0.1, 1.0}, new double[]{0.9, 0.0, 0.3, 0.2});
        assertEquals((0.1 + 0.9) / 2, GoldEvaluation.bestOfNGold(proxy, gold, 3), 1e-15);
        assertEquals((0.5 + 0.9) / 2, GoldEvaluation.bestOfNGold(proxy, gold, 1), 1e-15); // n = 1: the first sample
        assertEquals((1.0 + 0.9) / 2, GoldEvaluation.bestOfNGold(proxy, gold, 4), 1e-15);
        assertThrows(IllegalArgumentException.class, () -> GoldEvaluation.bestOfNGold(proxy, gold, 5));
    }

    @Test
    void noiseCeilingByHand() {
        // agree, disagree, tie -> (1 + 0 + 0.5) / 3
        assertEquals(0.5, GoldEvaluation.noiseCeiling(new double[]{2, 1, 3}, new double[]{1, 2, 3}), 1e-15);
    }

    @Test
    void shareStandardErrorTreatsPromptsAsTheUnits() {
        // 3 prompts of 4 samples, hits 4, 0, 2: p = 6/12 = 0.5; residuals 2, -2, 0; k/(k-1) = 1.5
        // SE = sqrt(1.5 * 8) / 12 = 0.288675...
        assertEquals(Math.sqrt(12) / 12, GoldEvaluation.shareStandardError(new long[]{4, 0, 2}, new long[]{4, 4, 4}), 1e-15);
        // the same 6 hits in 12 samples spread evenly over the prompts: no prompt-to-prompt variation, SE 0
        assertEquals(0.0, GoldEvaluation.shareStandardError(new long[]{2, 2, 2}, new long[]{4, 4, 4}), 1e-15);
        // one sample per prompt: the binomial error sqrt(p (1 - p) / n) times sqrt(n / (n - 1))
        long[] hits = {1, 0, 0, 1, 0, 1, 0, 0}, ones = {1, 1, 1, 1, 1, 1, 1, 1};
        double p = 3 / 8.0;
        assertEquals(Math.sqrt(p * (1 - p) / 8 * 8 / 7.0), GoldEvaluation.shareStandardError(hits, ones), 1e-15);
        // clustered hits weigh more than the binomial count would say: 4 prompts, hits all in one
        double clustered = GoldEvaluation.shareStandardError(new long[]{4, 0, 0, 0}, new long[]{4, 4, 4, 4});
        assertEquals(Math.sqrt(4 / 3.0 * (9 + 1 + 1 + 1)) / 16, clustered, 1e-15); // p = 0.25, residuals 3, -1, -1, -1
        assertTrue(clustered > Math.sqrt(0.25 * 0.75 / 16));
        // prompts without samples do not count; fewer than two prompts give no error
        assertEquals(Math.sqrt(12) / 12, GoldEvaluation.shareStandardError(new long[]{4, 0, 0, 2}, new long[]{4, 0, 4, 4}), 1e-15);
        assertTrue(Double.isNaN(GoldEvaluation.shareStandardError(new long[]{1, 0}, new long[]{3, 0})));
        assertThrows(IllegalArgumentException.class, () -> GoldEvaluation.shareStandardError(new long[]{5}, new long[]{4}));
    }

    @Test
    void pairedStandardErrorByHand() {
        // differences 0.3, 0.1, 0.2: mean 0.2, sample std 0.1, SE 0.1 / sqrt(3)
        assertEquals(0.1 / Math.sqrt(3), GoldEvaluation.pairedStandardError(new double[]{1.3, 0.1, -0.8}, new double[]{1.0, 0.0, -1.0}), 1e-15);
        // a constant shift has no error however different the prompts are
        assertEquals(0.0, GoldEvaluation.pairedStandardError(new double[]{5.5, -2.5, 0.5}, new double[]{5, -3, 0}), 1e-15);
        assertTrue(Double.isNaN(GoldEvaluation.pairedStandardError(new double[]{1}, new double[]{0})));
        assertThrows(IllegalArgumentException.class, () -> GoldEvaluation.pairedStandardError(new double[]{1, 2}, new double[]{0}));
    }
}
