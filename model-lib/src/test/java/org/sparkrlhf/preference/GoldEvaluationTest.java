package org.sparkrlhf.preference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

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
}
