package org.sparkrlhf.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.Head;
import org.sparkrlhf.optim.AdamW;
import org.sparkrlhf.optim.LrSchedule;
import org.sparkrlhf.rl.Advantage;
import org.sparkrlhf.rl.ExperienceMaker;
import org.sparkrlhf.rl.KlController;
import org.sparkrlhf.rl.PpoSettings;
import org.sparkrlhf.rl.RewardFunction;
import org.sparkrlhf.rl.SafetyConstraint;
import org.sparkrlhf.sampling.SamplingConfig;
import org.sparkrlhf.tensor.DType;

class PpoTrainerTest extends LocalSparkTest {
    record Run(List<PpoTrainer.Report> reports, float[] policy, List<String> retried, List<Long> replayed) {}

    static Run run(int iterations) {
        return run(iterations, 0);
    }

    static Run run(int iterations, double ptxCoef) {
        return run(iterations, ptxCoef, RewardFunction.tokenFrequency(7), 0);
    }

    static Run run(int iterations, double ptxCoef, RewardFunction reward, int maxBadSteps) {
        return run(iterations, ptxCoef, reward, maxBadSteps, false);
    }

    /** {@code forgetAfterFirst}: the models stay on the ranks, which then lose them (as a new executor would) after iteration 1. */
    static Run run(int iterations, double ptxCoef, RewardFunction reward, int maxBadSteps, boolean forgetAfterFirst) {
        return run(iterations, ptxCoef, reward, maxBadSteps, forgetAfterFirst, Advantage.GAE);
    }

    /** With GRPO or RLOO: 8 prompts x 4 samples per iteration (PPO's 32 rollouts), and no critic. */
    static Run run(int iterations, double ptxCoef, RewardFunction reward, int maxBadSteps, boolean forgetAfterFirst, Advantage advantage) {
        return run(iterations, ptxCoef, reward, maxBadSteps, forgetAfterFirst, advantage, t -> {});
    }

    /** As above, {@code configure} adding to the trainer before its first iteration (a safety constraint). */
    static Run run(int iterations, double ptxCoef, RewardFunction reward, int maxBadSteps, boolean forgetAfterFirst, Advantage advantage,
                   java.util.function.Consumer<PpoTrainer> configure) {
        return run(iterations, ptxCoef, reward, maxBadSteps, forgetAfterFirst, advantage, configure, 0);
    }

    /** As above, with the early stop at {@code maxUpdateKl} (0: off). */
    static Run run(int iterations, double ptxCoef, RewardFunction reward, int maxBadSteps, boolean forgetAfterFirst, Advantage advantage,
                   java.util.function.Consumer<PpoTrainer> configure, double maxUpdateKl) {
        JavaSparkContext jsc = LocalSpark.jsc(spark);
        GptConfig pc = GptConfig.of(32, 40, 64, 4, 2);
        Gpt policy = Gpt.init(pc, DType.FLOAT32, 1), reference = policy.frozenCopy();
        boolean critic0 = advantage.needsCritic();
        Gpt critic = critic0 ? Gpt.init(pc.withHeads(Head.VALUE), DType.FLOAT32, 2) : null;
        if (critic0) critic.parameters().copySharedFrom(policy.parameters());
        SplittableRandom r = new SplittableRandom(3);
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < 64; i++) prompts.add(r.ints(6, 0, 32).toArray());
        ShardedData<int[]> data = ShardedData.of(jsc.parallelize(prompts, 2), 2);
        PpoTrainer t = new PpoTrainer(jsc, new PpoTrainer.Models(policy, critic, reference, null, reward),
                new PpoTrainer.Optimizers(new AdamW(AdamW.Config.defaults(LrSchedule.constant(2e-3)), policy.parameters().layout(), DType.FLOAT32),
                        critic0 ? new AdamW(AdamW.Config.defaults(LrSchedule.constant(2e-3)), critic.parameters().layout(), DType.FLOAT32) : null,
                        KlController.adaptive(0.1, 6.0, 100)),
                new PpoTrainer.Settings(new ExperienceMaker.Settings(SamplingConfig.of(1.0, 16), 0, 31, new ExperienceMaker.ScoreNorm(0, 0.25),
                        PpoSettings.defaults(), 16), critic0 ? 32 : 8, 4, 2, 11, maxBadSteps,
                        new StageSettings(1, java.time.Duration.ofSeconds(30), 1, true, null), advantage, critic0 ? 1 : 4, maxUpdateKl), data);
        ShardedData<org.sparkrlhf.training.LmExample> ptx = null;
        if (ptxCoef > 0) {
            List<org.sparkrlhf.training.LmExample> lm = new ArrayList<>();
            for (int i = 0; i < 32; i++) lm.add(org.sparkrlhf.training.LmExample.plain(r.ints(20, 0, 32).toArray()));
            ptx = ShardedData.of(jsc.parallelize(lm, 2), 2);
            t.withPretrainingMix(ptx, ptxCoef, 8);
        }
        configure.accept(t);
        List<PpoTrainer.Report> reports = new ArrayList<>();
        for (int i = 0; i < iterations; i++) {
            reports.add(t.runIteration(!forgetAfterFirst || i == iterations - 1));
            if (forgetAfterFirst && i == 0) ResidentReplicas.clear();
        }
        data.release();
        if (ptx != null) ptx.release();
        return new Run(reports, policy.parameters().flat().toFloatArray(), t.retried(), t.replayed());
    }

    @Test
    void distributedPpoRaisesAKnownRewardAndIsReproducible() {
        Run a = run(14);
        List<Double> scores = a.reports().stream().map(PpoTrainer.Report::scoreMean).toList();
        System.out.println("PPO on Spark: score by iteration " + scores);
        double late = (scores.get(11) + scores.get(12) + scores.get(13)) / 3;
        assertTrue(late > scores.get(0) + 0.15, "reward rose: " + scores);
        PpoTrainer.Report first = a.reports().get(0);
        assertTrue(Math.abs(first.ratioMean() - 1) < 0.05 && first.samplingSeconds() > 0 && first.trainingSeconds() > 0, first.toString());
        Run b = run(3), c = run(3);
        assertArrayEquals(b.policy(), c.policy(), "same seeds, same result");
    }

    @Test
    void criticFreeMethodsRaiseTheRewardWithoutACriticAndAreReproducible() {
        for (Advantage method : new Advantage[]{Advantage.GRPO, Advantage.RLOO}) {
            Run a = run(14, 0, RewardFunction.tokenFrequency(7), 0, false, method);
            List<Double> scores = a.reports().stream().map(PpoTrainer.Report::scoreMean).toList();
            System.out.println(method + " on Spark: score by iteration " + scores);
            double late = (scores.get(11) + scores.get(12) + scores.get(13)) / 3;
            assertTrue(late > scores.get(0) + 0.1, method + ": reward rose: " + scores);
            PpoTrainer.Report first = a.reports().get(0);
            assertEquals(32, first.samples().size(), "8 prompts x 4 samples");
            assertTrue(first.valueLoss() == 0 && first.criticSeconds() == 0 && Double.isNaN(first.valueExplainedVariance()), method + ": no critic ran");
            assertTrue(Math.abs(first.ratioMean() - 1) < 0.05, first.toString());
            assertArrayEquals(run(2, 0, RewardFunction.tokenFrequency(7), 0, false, method).policy(),
                    run(2, 0, RewardFunction.tokenFrequency(7), 0, false, method).policy(), method + ": same seeds, same result");
        }
        assertTrue(run(1).reports().get(0).criticSeconds() > 0, "PPO measures what its critic costs");
        assertThrows(IllegalArgumentException.class, () -> new PpoTrainer.Settings(null, 8, 1, 1, 1, 0, null, Advantage.RLOO, 1));
    }

    @Test
    void earlyStopSkipsAnIterationsRemainingUpdatesOnceAMinibatchMovedTooFar() {
        Run free = run(2);
        for (PpoTrainer.Report r : free.reports()) assertEquals(8, r.updates(), "off: 4 epochs x 2 minibatches");
        // a limit below anything measurable: only the first update runs, where the policy is still the sampler
        Run tight = run(2, 0, RewardFunction.tokenFrequency(7), 0, false, Advantage.GAE, t -> {}, 1e-12);
        for (PpoTrainer.Report r : tight.reports()) {
            assertEquals(1, r.updates(), r.toString());
            assertTrue(Math.abs(r.approxKl()) < 1e-6, "the stopped update's own statistics are not counted: " + r.approxKl());
        }
        // at the free run's mean KL the first iteration stops part-way (the KL grows from update to update), and every
        // update that ran measured at most the limit
        double limit = free.reports().get(0).approxKl();
        Run mid = run(2, 0, RewardFunction.tokenFrequency(7), 0, false, Advantage.GAE, t -> {}, limit);
        PpoTrainer.Report first = mid.reports().get(0);
        assertEquals(free.reports().get(0).scoreMean(), first.scoreMean(), "the same rollouts");
        assertTrue(first.updates() > 1 && first.updates() < 8, "stopped part-way: " + first.updates());
        assertTrue(first.approxKl() <= limit, first.approxKl() + " > " + limit);
        assertTrue(!java.util.Arrays.equals(free.policy(), mid.policy()) && !java.util.Arrays.equals(tight.policy(), mid.policy()));
        assertArrayEquals(mid.policy(), run(2, 0, RewardFunction.tokenFrequency(7), 0, false, Advantage.GAE, t -> {}, limit).policy(),
                "every rank stops at the same update: same seeds, same result");
        assertThrows(IllegalArgumentException.class, () -> new PpoTrainer.Settings(null, 8, 1, 1, 1, 0, null, Advantage.GAE, 1, -1));
        assertThrows(IllegalArgumentException.class, () -> new PpoTrainer.Settings(null, 8, 1, 1, 1, 0, null, Advantage.GAE, 1, Double.POSITIVE_INFINITY));
    }

    /** Reward for tokens 7 and 8 alike; token 8 is also the cost (harm) the constraint limits. */
    static final RewardFunction SEVEN_OR_EIGHT = (prompts, responses) -> {
        double[] a = RewardFunction.tokenFrequency(7).score(prompts, responses), b = RewardFunction.tokenFrequency(8).score(prompts, responses);
        for (int i = 0; i < a.length; i++) a[i] += b[i];
        return a;
    };

    static Run constrained(SafetyConstraint.Mode mode, double lambda, int iterations) {
        SafetyConstraint c = new SafetyConstraint(new SafetyConstraint.Settings(mode, 0.1, lambda, 5, 5));
        return run(iterations, 0, SEVEN_OR_EIGHT, 0, false, Advantage.GAE,
                t -> t.withSafetyConstraint(null, RewardFunction.tokenFrequency(8), new ExperienceMaker.ScoreNorm(0, 0.25), c));
    }

    @Test
    void lagrangianHoldsTheCostUnderItsLimitWhileTheRewardRises() {
        Run free = constrained(SafetyConstraint.Mode.WEIGHTED, 0, 14), safe = constrained(SafetyConstraint.Mode.LAGRANGIAN, 0, 14);
        List<Double> freeCost = free.reports().stream().map(r -> r.safety().costMean()).toList();
        List<Double> safeCost = safe.reports().stream().map(r -> r.safety().costMean()).toList();
        List<Double> lambdas = safe.reports().stream().map(r -> r.safety().lambda()).toList();
        List<Double> safeReward = safe.reports().stream().map(r -> r.safety().rewardMean()).toList();
        System.out.println("cost by iteration, weighted sum with lambda 0: " + freeCost + "\nLagrangian: " + safeCost + "\nlambda: " + lambdas
                + "\nreward (normalized) under the constraint: " + safeReward);
        assertEquals(0.0, lambdas.get(0), 0, "the first iteration is scored with lambda's start");
        assertTrue(lambdas.stream().anyMatch(l -> l > 0.5), "lambda rose while the cost was over its limit: " + lambdas);
        assertTrue(free.reports().stream().allMatch(r -> r.safety().lambda() == 0), "the weighted sum keeps its weight");
        double freeLate = (freeCost.get(11) + freeCost.get(12) + freeCost.get(13)) / 3, safeLate = (safeCost.get(11) + safeCost.get(12) + safeCost.get(13)) / 3;
        assertTrue(safeLate < freeLate / 2, "the constraint at least halves the late cost: " + safeLate + " against " + freeLate);
        double r0 = safeReward.get(0), rLate = (safeReward.get(11) + safeReward.get(12) + safeReward.get(13)) / 3;
        assertTrue(rLate > r0 + 0.3, "the reward still rises (on token 7): " + safeReward);
        assertArrayEquals(constrained(SafetyConstraint.Mode.LAGRANGIAN, 0, 2).policy(), constrained(SafetyConstraint.Mode.LAGRANGIAN, 0, 2).policy(),
                "same seeds, same result");
        assertTrue(run(1).reports().get(0).safety() == null, "no constraint, no safety report");
    }

    /** The token-frequency reward, but NaN for every response of the second iteration (its two experience tasks are calls 2 and 3 in this JVM). */
    static final class NaNInSecondIteration implements RewardFunction {
        static final java.util.concurrent.atomic.AtomicInteger CALLS = new java.util.concurrent.atomic.AtomicInteger();
        final RewardFunction real = RewardFunction.tokenFrequency(7);

        @Override
        public double[] score(List<int[]> prompts, List<int[]> responses) {
            double[] s = real.score(prompts, responses);
            int call = CALLS.getAndIncrement();
            if (call == 2 || call == 3) java.util.Arrays.fill(s, Double.NaN);
            return s;
        }
    }

    @Test
    void nonFiniteUpdatesAreSkippedCountedAndStopTheRunWhenTheyPersist() {
        NaNInSecondIteration.CALLS.set(0);
        Run tolerant = run(3, 0, new NaNInSecondIteration(), 8); // the second iteration's 4 epochs x 2 minibatches all go bad
        assertEquals(List.of(0, 8, 0), tolerant.reports().stream().map(PpoTrainer.Report::skippedUpdates).toList());
        assertTrue(Double.isFinite(tolerant.reports().get(2).policyLoss()), "training goes on after the bad iteration");
        NaNInSecondIteration.CALLS.set(0);
        TrainingDiverged e = assertThrows(TrainingDiverged.class, () -> run(3, 0, new NaNInSecondIteration(), 7));
        assertTrue(e.getMessage().contains("8 updates in a row") && e.getMessage().contains("train.maxBadSteps = 7"), e.getMessage());
    }

    @Test
    void ranksThatLostTheirStateStopTogetherAndTheDriverReplaysFromItsCopy() {
        Run calm = run(3);
        long t0 = System.nanoTime();
        Run forgot = run(3, 0, RewardFunction.tokenFrequency(7), 0, true);
        assertEquals(1, forgot.retried().size(), "iteration 2 failed once: " + forgot.retried());
        assertTrue(forgot.retried().get(0).contains("holds no state for iteration 2"), forgot.retried().get(0));
        assertTrue((System.nanoTime() - t0) / 1e9 < 25, "the ranks stopped at once, not after the 30 s collective timeout");
        assertEquals(List.of(1L), forgot.replayed(), "iteration 1 ran again from the driver's copy of the models");
        assertArrayEquals(calm.policy(), forgot.policy());
    }

    @Test
    void pretrainingMixAddsItsLanguageModelGradient() {
        Run plain = run(2), mixed = run(2, 0.5);
        double ptxLoss = mixed.reports().get(1).ptxLoss();
        assertTrue(Double.isFinite(ptxLoss) && ptxLoss > 0 && Double.isNaN(plain.reports().get(1).ptxLoss()), "ptx loss " + ptxLoss);
        assertTrue(!java.util.Arrays.equals(plain.policy(), mixed.policy()), "the mix changes the update");
    }
}
