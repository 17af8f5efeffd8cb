package org.sparkrlhf.rl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkrlhf.model.GradientCheck;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tensor.Tensor;

/** RLOO's and GRPO's advantages by hand, and GRPO's in-loss KL term by finite differences. */
class GroupAdvantagesTest {

    @Test
    void rlooSubtractsTheMeanOfTheOthers() {
        assertArrayEquals(new double[] {-1, 1, -3, 3}, GroupAdvantages.rloo(new double[] {1, 2, 3, 6}, 2), 1e-15);
        double[] a = GroupAdvantages.rloo(new double[] {1, 2, 3, 6}, 4);
        assertEquals(1 - 11.0 / 3, a[0], 1e-15);
        assertEquals(6 - 2.0, a[3], 1e-15);
        assertThrows(IllegalArgumentException.class, () -> GroupAdvantages.rloo(new double[] {1, 2, 3}, 2));
    }

    @Test
    void grpoNormalizesWithinTheGroup() {
        double[] a = GroupAdvantages.grpo(new double[] {1, 2, 5, 5}, 2, 1e-6);
        assertEquals(-0.5 / Math.sqrt(0.5), a[0], 1e-5);
        assertEquals(0.5 / Math.sqrt(0.5), a[1], 1e-5);
        assertEquals(0.0, a[2], 0.0); // equal rewards: no signal, and no division by zero
        double[] b = GroupAdvantages.grpo(new double[] {0, 3, 6}, 3, 0);
        assertArrayEquals(new double[] {-1, 0, 1}, b, 1e-12); // mean 3, sample std 3
    }

    /** The clipped surrogate plus c k3(pi, ref): gradient by logits against finite differences. */
    @Test
    void theKlTermsGradientMatchesFiniteDifferences() {
        int rows = 6, v = 5;
        SplittableRandom r = new SplittableRandom(2);
        Tensor logits = Tensor.zeros(DType.FLOAT64, rows * v), d = Tensor.zeros(DType.FLOAT64, rows * v);
        for (int i = 0; i < logits.size(); i++) logits.set(i, r.nextDouble() * 2 - 1);
        int[] actions = new int[rows];
        double[] old = new double[rows], adv = new double[rows], mask = new double[rows], ref = new double[rows];
        for (int i = 0; i < rows; i++) {
            actions[i] = r.nextInt(v);
            old[i] = -1.6 + 0.2 * r.nextDouble();
            adv[i] = r.nextDouble() - 0.5;
            mask[i] = i == 2 ? 0 : 1;
            ref[i] = -1.8 + 0.5 * r.nextDouble();
        }
        PpoPolicyLoss.compute(logits, v, actions, old, adv, mask, 0.2, 0.01, 5, ref, 0.3, d);
        GradientCheck.assertMatches("PPO loss + GRPO's k3 KL term", logits, d,
                x -> PpoPolicyLoss.compute(logits, v, actions, old, adv, mask, 0.2, 0.01, 5, ref, 0.3, null).loss(), 1e-6, 1e-5);
        // with the policy equal to the reference the term adds nothing
        double base = PpoPolicyLoss.compute(logits, v, actions, old, adv, mask, 0.2, 0.01, 5, null, 0, null).loss();
        double[] same = new double[rows];
        for (int i = 0; i < rows; i++) same[i] = logits.get(i * v + actions[i]) - org.sparkrlhf.loss.Softmax.logSumExp(logits, i * v, v);
        assertEquals(base, PpoPolicyLoss.compute(logits, v, actions, old, adv, mask, 0.2, 0.01, 5, same, 0.3, null).loss(), 1e-12);
    }
}
