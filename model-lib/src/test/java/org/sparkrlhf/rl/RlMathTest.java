package org.sparkrlhf.rl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** RL maths against values computed by hand (the working is in the comments). */
class RlMathTest {

    @Test
    void gaeByHand() {
        // r = [0, 0, 1], V = [0.5, 0.6, 0.7], gamma = 1, lambda = 0.5
        // delta2 = 1 + 0 - 0.7 = 0.3            A2 = 0.3
        // delta1 = 0 + 0.7 - 0.6 = 0.1          A1 = 0.1 + 0.5 * 0.3 = 0.25
        // delta0 = 0 + 0.6 - 0.5 = 0.1          A0 = 0.1 + 0.5 * 0.25 = 0.225
        Gae.Result g = Gae.compute(new double[]{0, 0, 1}, new double[]{0.5, 0.6, 0.7}, 1.0, 0.5);
        assertArrayEquals(new double[]{0.225, 0.25, 0.3}, g.advantages(), 1e-12);
        assertArrayEquals(new double[]{0.725, 0.85, 1.0}, g.returns(), 1e-12);
        // gamma = 0.9, lambda = 1: A_t = discounted return - V_t; return_0 = 0.81 * 1 = 0.81
        Gae.Result mc = Gae.compute(new double[]{0, 0, 1}, new double[]{0.5, 0.6, 0.7}, 0.9, 1.0);
        assertEquals(0.81 - 0.5, mc.advantages()[0], 1e-12);
        assertEquals(0.81, mc.returns()[0], 1e-12);
        // lambda = 0: one-step TD errors
        assertArrayEquals(new double[]{0.1, 0.1, 0.3}, Gae.compute(new double[]{0, 0, 1}, new double[]{0.5, 0.6, 0.7}, 1.0, 0.0).advantages(), 1e-12);
    }

    @Test
    void klEstimatorsByHand() {
        // log p = -1, log q = -1.5: x = 0.5
        assertEquals(0.5, KlEstimator.K1.estimate(-1, -1.5), 1e-15);
        assertEquals(0.125, KlEstimator.K2.estimate(-1, -1.5), 1e-15);
        assertEquals(Math.exp(-0.5) - 1 + 0.5, KlEstimator.K3.estimate(-1, -1.5), 1e-15); // 0.10653...
        assertEquals(0.0, KlEstimator.K3.estimate(-2, -2), 0.0);
        assertTrue(KlEstimator.K1.estimate(-2, -1) < 0 && KlEstimator.K3.estimate(-2, -1) > 0, "k1 may be negative, k3 never");
    }

    @Test
    void k1AndK3AreUnbiasedForTheTrueKl() {
        // p = (0.7, 0.3), q = (0.5, 0.5): KL(p||q) = 0.7 ln 1.4 + 0.3 ln 0.6
        double kl = 0.7 * Math.log(1.4) + 0.3 * Math.log(0.6);
        double[] p = {0.7, 0.3}, q = {0.5, 0.5};
        for (KlEstimator e : new KlEstimator[]{KlEstimator.K1, KlEstimator.K3}) {
            double expect = 0;
            for (int a = 0; a < 2; a++) expect += p[a] * e.estimate(Math.log(p[a]), Math.log(q[a]));
            assertEquals(kl, expect, 1e-12, e.name());
        }
    }

    @Test
    void whiteningWithMergedMoments() {
        // [1, 2, 3, 4]: mean 2.5, population variance 1.25
        Moments all = Moments.of(new double[]{1, 2, 3, 4});
        Moments merged = Moments.of(new double[]{1, 4}).merge(Moments.of(new double[]{2})).merge(Moments.of(new double[]{3}));
        assertEquals(2.5, merged.mean(), 1e-12);
        assertEquals(1.25, merged.variance(), 1e-12);
        assertEquals(all.m2(), merged.m2(), 1e-12);
        assertEquals((4 - 2.5) / Math.sqrt(1.25 + 1e-8), merged.whiten(4, true), 1e-12);
        assertEquals(4 / Math.sqrt(1.25 + 1e-8), merged.whiten(4, false), 1e-12);
    }

    @Test
    void adaptiveKlControllerByHand() {
        // target 6, horizon 10000, batch 256: KL 9 -> error clip(0.5) = 0.2 -> beta *= 1 + 0.2 * 256 / 10000 = 1.00512
        KlController c = KlController.adaptive(0.1, 6, 10_000);
        c.update(9, 256);
        assertEquals(0.1 * 1.00512, c.beta(), 1e-15);
        // KL 5.4 -> error -0.1 -> beta *= 1 - 0.1 * 256 / 10000 = 0.99744
        c.update(5.4, 256);
        assertEquals(0.1 * 1.00512 * 0.99744, c.beta(), 1e-15);
        KlController fixed = KlController.fixed(0.05);
        fixed.update(100, 256);
        assertEquals(0.05, fixed.beta());
        assertThrows(IllegalArgumentException.class, () -> KlController.adaptive(0.1, 0, 10));
        // a floor: KL 1 against target 4 -> error -0.2 -> beta *= 1 - 0.2 * 64 / 128 = 0.9, held at 0.08
        KlController floored = KlController.adaptive(0.1, 4, 128, 0.08);
        floored.update(1, 64);
        assertEquals(0.09, floored.beta(), 1e-15);
        floored.update(1, 64); // 0.081
        floored.update(1, 64); // 0.0729 -> 0.08
        assertEquals(0.08, floored.beta(), 0);
        floored.update(8, 64); // rises from the floor: 0.08 * 1.1
        assertEquals(0.088, floored.beta(), 1e-15);
        assertThrows(IllegalArgumentException.class, () -> KlController.adaptive(0.1, 4, 128, 0.2), "a floor over the start");
        // a raise horizon of 32 against 128: KL 8 against 4 -> error 0.2 -> beta *= 1 + 0.2 * 64 / 32 = 1.4; under the target the 128 holds
        KlController quick = KlController.adaptive(0.1, 4, 128, 0, 32);
        quick.update(8, 64);
        assertEquals(0.14, quick.beta(), 1e-15);
        quick.update(1, 64); // 0.14 * 0.9
        assertEquals(0.126, quick.beta(), 1e-15);
        assertThrows(IllegalArgumentException.class, () -> KlController.adaptive(0.1, 4, 128, 0, 256), "a raise horizon longer than the horizon");
    }

    @Test
    void tokenRewardsByHand() {
        // log p = [-1, -2, -0.5], log q = [-1.5, -2, -1]: k1 = [0.5, 0, 0.5]; beta 0.1 -> [-0.05, 0, -0.05]
        // score 3, mean 1, std 2 -> 1.0 (clip 5 does not bite); last token: -0.05 + 1 = 0.95
        double[] r = TokenRewards.compute(new double[]{-1, -2, -0.5}, new double[]{-1.5, -2, -1}, 3, 1, 2, 5, 0.1, KlEstimator.K1, true, -1);
        assertArrayEquals(new double[]{-0.05, 0, 0.95}, r, 1e-12);
        // clipped score (10 -> 4.5 -> clip 2) and a missing-EOS penalty of -1: last = -0.05 + 2 - 1
        double[] c = TokenRewards.compute(new double[]{-1, -2, -0.5}, new double[]{-1.5, -2, -1}, 10, 1, 2, 2, 0.1, KlEstimator.K1, false, -1);
        assertEquals(0.95, c[2], 1e-12);
    }
}
