package org.sparkrlhf.rl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The Lagrange multiplier's steps and the constrained objective, against values worked by hand. */
class SafetyConstraintTest {
    @Test
    void multiplierRisesOverTheLimitFallsUnderItAndStaysInItsRange() {
        SafetyConstraint c = new SafetyConstraint(new SafetyConstraint.Settings(SafetyConstraint.Mode.LAGRANGIAN, 0.2, 1.0, 0.5, 3.0));
        c.update(0.6); // 1 + 0.5 * (0.6 - 0.2)
        assertEquals(1.2, c.lambda(), 1e-12);
        c.update(0.0); // 1.2 + 0.5 * (0 - 0.2)
        assertEquals(1.1, c.lambda(), 1e-12);
        c.update(-10); // 1.1 - 5.1: projected onto lambda >= 0
        assertEquals(0.0, c.lambda(), 0);
        c.update(100); // 0 + 49.9: capped at lambdaMax
        assertEquals(3.0, c.lambda(), 0);
        c.update(Double.NaN); // a batch without a cost changes nothing
        assertEquals(3.0, c.lambda(), 0);
        c.restore(0.25, 0.25);
        assertEquals(0.25, c.lambda(), 0);
    }

    @Test
    void proportionalTermAnswersTheViolationAtOnceWithoutWindingUp() {
        // limit 0.2, start 1, integral step 0.5, kp 2, max 3
        SafetyConstraint c = new SafetyConstraint(new SafetyConstraint.Settings(SafetyConstraint.Mode.LAGRANGIAN, 0.2, 1.0, 0.5, 3.0, 2.0));
        c.update(0.6); // violation 0.4: integral 1 + 0.2 = 1.2; lambda 1.2 + 0.8 = 2.0
        assertEquals(1.2, c.integral(), 1e-12);
        assertEquals(2.0, c.lambda(), 1e-12);
        c.update(0.0); // violation -0.2: integral 1.1; lambda 1.1 - 0.4 = 0.7, at once below the integral
        assertEquals(1.1, c.integral(), 1e-12);
        assertEquals(0.7, c.lambda(), 1e-12);
        c.update(2.2); // violation 2: integral 2.1; lambda 2.1 + 4 capped at 3
        assertEquals(2.1, c.integral(), 1e-12);
        assertEquals(3.0, c.lambda(), 0);
        c.update(-1.0); // violation -1.2: integral 1.5; lambda 1.5 - 2.4 projected onto 0
        assertEquals(1.5, c.integral(), 1e-12);
        assertEquals(0.0, c.lambda(), 0);
        c.restore(0.4, 0.9); // a checkpoint keeps both
        c.update(0.2); // no violation: the integral stays and lambda is the integral
        assertEquals(0.9, c.lambda(), 1e-12);
        // the plain update is kp 0: the integral and lambda are one
        SafetyConstraint plain = new SafetyConstraint(new SafetyConstraint.Settings(SafetyConstraint.Mode.LAGRANGIAN, 0.2, 1.0, 0.5, 3.0));
        plain.update(0.6);
        assertEquals(plain.integral(), plain.lambda(), 0);
    }

    @Test
    void harmfulPromptsLimitHasItsOwnMultiplier() {
        // limit 0 on all prompts, 0.5 on the harmful ones; start 1, integral step 0.5, kp 2, max 3
        SafetyConstraint c = new SafetyConstraint(new SafetyConstraint.Settings(SafetyConstraint.Mode.LAGRANGIAN, 0, 1.0, 0.5, 3.0, 2.0, 0.5));
        assertEquals(0.0, c.harmfulLambda(), 0, "mu starts at 0");
        c.update(-0.2, 1.5); // all: violation -0.2, integral 0.9, lambda 0.5; harmful: violation 1, integral 0.5, mu 2.5
        assertEquals(0.9, c.integral(), 1e-12);
        assertEquals(0.5, c.lambda(), 1e-12);
        assertEquals(0.5, c.harmfulIntegral(), 1e-12);
        assertEquals(2.5, c.harmfulLambda(), 1e-12);
        c.update(-0.2, Double.NaN); // no harmful prompt in the batch: mu stays
        assertEquals(2.5, c.harmfulLambda(), 0);
        assertEquals(0.8, c.integral(), 1e-12);
        c.update(0, 0.1); // harmful under its limit: integral 0.3, mu 0.3 - 0.8 projected onto 0
        assertEquals(0.3, c.harmfulIntegral(), 1e-12);
        assertEquals(0.0, c.harmfulLambda(), 0);
        c.restore(1.5, 1.2, 0.7, 0.6); // a checkpoint keeps all four
        assertEquals(0.7, c.harmfulLambda(), 0);
        assertEquals(0.6, c.harmfulIntegral(), 0);
        // one limit: the harmful prompts' mean changes nothing
        SafetyConstraint one = new SafetyConstraint(new SafetyConstraint.Settings(SafetyConstraint.Mode.LAGRANGIAN, 0, 1.0, 0.5, 3.0, 2.0));
        one.update(0, 5);
        assertEquals(0.0, one.harmfulLambda(), 0);
        assertThrows(IllegalArgumentException.class, () -> new SafetyConstraint.Settings(SafetyConstraint.Mode.WEIGHTED, 0, 1, 0.1, 1, 0, 0.5));
        assertThrows(IllegalArgumentException.class,
                () -> new SafetyConstraint.Settings(SafetyConstraint.Mode.LAGRANGIAN, 0, 1, 0.1, 1, 0, Double.POSITIVE_INFINITY));
    }

    @Test
    void weightedSumKeepsItsWeight() {
        SafetyConstraint c = new SafetyConstraint(new SafetyConstraint.Settings(SafetyConstraint.Mode.WEIGHTED, 0, 2.0, 0.5, 2.0));
        c.update(5);
        assertEquals(2.0, c.lambda(), 0);
    }

    @Test
    void objectiveAndSettingsChecks() {
        assertEquals(0.5, SafetyConstraint.objective(2, 1, 1), 1e-12); // (2 - 1) / 2
        assertEquals(2.0, SafetyConstraint.objective(2, 7, 0), 1e-12); // lambda 0: the reward alone
        assertEquals(-0.6, SafetyConstraint.objective(0, 0.8, 3), 1e-12); // -2.4 / 4
        assertThrows(IllegalArgumentException.class, () -> new SafetyConstraint.Settings(SafetyConstraint.Mode.LAGRANGIAN, 0, -1, 0.1, 1));
        assertThrows(IllegalArgumentException.class, () -> new SafetyConstraint.Settings(SafetyConstraint.Mode.LAGRANGIAN, 0, 2, 0.1, 1));
        assertThrows(IllegalArgumentException.class, () -> new SafetyConstraint.Settings(SafetyConstraint.Mode.LAGRANGIAN, 0, 1, 0.1, 1, -0.5));
    }

    @Test
    void constrainedRewardNormalizesCombinesAndCounts() {
        // reward model: mean 1, sd 2; harmlessness model negated as the cost: its mean 0.5 -> cost mean -0.5, sd 0.5
        RewardFunction reward = (p, r) -> new double[]{3, 1}, harmless = (p, r) -> new double[]{0.0, 1.0};
        ConstrainedReward cr = new ConstrainedReward(reward, new ExperienceMaker.ScoreNorm(1, 2), ConstrainedReward.negated(harmless),
                new ExperienceMaker.ScoreNorm(-0.5, 0.5), 1.0);
        double[] s = cr.score(List.of(new int[1], new int[1]), List.of(new int[1], new int[1]));
        // response 0: reward (3-1)/2 = 1, cost (0+0.5)/0.5 = 1 -> objective 0 -> raw 1 + 2*0 = 1
        // response 1: reward 0, cost (-1+0.5)/0.5 = -1 -> objective 0.5 -> raw 1 + 2*0.5 = 2
        assertArrayEquals(new double[]{1, 2}, s, 1e-12);
        assertEquals(1.0, cr.rewardSum(), 1e-12);
        assertEquals(0.0, cr.costSum(), 1e-12);
        assertEquals(2, cr.count());
    }

    @Test
    void constrainedRewardScoresHarmfulPromptsWithBothMultipliers() {
        // reward norm (0, 1), cost norm (0, 1); prompt {1} is harmful. lambda 1, mu 2
        RewardFunction reward = (p, r) -> new double[]{2, 2, 2}, cost = (p, r) -> new double[]{1, 1, -1};
        PromptSet harmful = new PromptSet(List.of(new int[]{1}));
        ConstrainedReward cr = new ConstrainedReward(reward, new ExperienceMaker.ScoreNorm(0, 1), cost, new ExperienceMaker.ScoreNorm(0, 1), 1.0, harmful, 2.0);
        double[] s = cr.score(List.of(new int[]{1}, new int[]{2}, new int[]{1}), List.of(new int[1], new int[1], new int[1]));
        // harmful, cost 1: (2 - 3) / 4 = -0.25; ordinary, cost 1: (2 - 1) / 2 = 0.5; harmful, cost -1: (2 + 3) / 4 = 1.25
        assertArrayEquals(new double[]{-0.25, 0.5, 1.25}, s, 1e-12);
        assertEquals(0.0, cr.harmfulCostSum(), 1e-12); // 1 + (-1)
        assertEquals(2, cr.harmfulCount());
        assertEquals(1.0, cr.costSum(), 1e-12);
        assertEquals(3, cr.count());
    }
}
