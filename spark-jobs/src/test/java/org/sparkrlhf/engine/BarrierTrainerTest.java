package org.sparkrlhf.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.sparkrlhf.config.ConfigException;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.optim.AdamW;
import org.sparkrlhf.optim.LrSchedule;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.training.LanguageModelObjective;
import org.sparkrlhf.training.LmExample;
import org.sparkrlhf.training.Objective;
import org.sparkrlhf.training.StepStats;

/** Barrier-stage training in local mode: learning, identical bits however the steps are cut into stages, skipped steps, divergence, the up-front checks. */
class BarrierTrainerTest {
    static final GptConfig CFG = GptConfig.of(16, 16, 16, 2, 1);

    /** Sequences of a simple pattern (counting mod 16 from a random start): learnable. */
    static List<LmExample> data(int n) {
        SplittableRandom r = new SplittableRandom(5);
        List<LmExample> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int s = r.nextInt(16);
            int[] t = new int[12];
            for (int j = 0; j < t.length; j++) t[j] = (s + j) % 16;
            out.add(LmExample.plain(t));
        }
        return out;
    }

    static BarrierTrainer<LmExample> trainer(SparkSession spark, Gpt model, Objective<LmExample> obj, int ranks, int threads) {
        return trainer(spark, model, obj, ranks, threads, true);
    }

    static BarrierTrainer<LmExample> trainer(SparkSession spark, Gpt model, Objective<LmExample> obj, int ranks, int threads, boolean sharedMemory) {
        AdamW opt = new AdamW(AdamW.Config.defaults(LrSchedule.constant(1e-2)), model.parameters().layout(), DType.FLOAT32);
        ShardedData<LmExample> data = ShardedData.of(LocalSpark.jsc(spark).parallelize(data(64), 3), ranks);
        return new BarrierTrainer<>(LocalSpark.jsc(spark), model, opt, obj, data,
                new BarrierTrainer.Settings(8, 2, 42, 1, new StageSettings(threads, Duration.ofSeconds(30), 0, sharedMemory, null)));
    }

    /** Trains 30 steps in stages ending at {@code stageEnds}; returns the parameters. */
    static float[] train(SparkSession spark, int ranks, int threads, List<Double> losses, List<StepReport> live, long... stageEnds) {
        return train(spark, ranks, threads, true, losses, live, stageEnds);
    }

    static float[] train(SparkSession spark, int ranks, int threads, boolean sharedMemory, List<Double> losses, List<StepReport> live, long... stageEnds) {
        Gpt model = Gpt.init(CFG, DType.FLOAT32, 1);
        BarrierTrainer<LmExample> t = trainer(spark, model, new LanguageModelObjective(), ranks, threads, sharedMemory);
        for (long end : stageEnds) {
            List<StepReport> steps = t.runStage(end, r -> {
                if (live != null) live.add(r);
            });
            if (losses != null) steps.forEach(r -> losses.add(r.loss()));
        }
        return model.parameters().flat().toFloatArray();
    }

    @Test
    void learnsWithTheSameBitsHoweverTheStepsAreCutIntoStagesWhateverTheTaskThreadsAndTransport() throws Exception {
        List<Double> losses = new ArrayList<>();
        List<StepReport> live = new CopyOnWriteArrayList<>();
        float[] oneStage, threeStages, twoThreads, overTcp;
        SparkSession s = LocalSpark.start("local[2]");
        try {
            oneStage = train(s, 2, 1, losses, live, 30);
            threeStages = train(s, 2, 1, null, null, 10, 20, 30); // resident replicas between stages
            overTcp = train(s, 2, 1, false, null, null, 30); // ranks on one host share memory unless told not to; the bits are the ring's
        } finally {
            s.stop();
        }
        assertEquals(30, losses.size());
        assertTrue(losses.get(29) < 0.5 * losses.get(0), "loss fell: " + losses);
        Thread.sleep(200);
        assertEquals(30, live.size(), "the driver heard of every step while the stage ran");
        assertArrayEquals(oneStage, threeStages);
        assertArrayEquals(oneStage, overTcp);
        s = LocalSpark.start("local[4]", "spark.task.cpus", "2");
        try {
            twoThreads = train(s, 2, 2, null, null, 15, 30);
        } finally {
            s.stop();
        }
        assertArrayEquals(oneStage, twoThreads);
    }

    @Test
    void nonFiniteGradientsAreSkippedByEveryRankAndStopTheRunWhenTheyPersist() {
        SparkSession s = LocalSpark.start("local[2]");
        try {
            Gpt model = Gpt.init(CFG, DType.FLOAT32, 1);
            BarrierTrainer<LmExample> t = trainer(s, model, new StaticPoison(), 2, 1);
            StaticPoison.CALLS.set(0);
            StaticPoison.BAD_FROM = 1; // the second step's gradient is NaN on one rank
            StaticPoison.BAD_TO = 2;
            List<StepReport> steps = t.runStage(3, r -> {});
            assertEquals(List.of(false, true, false, false), steps.stream().map(StepReport::skipped).toList());
            assertEquals(List.of(1L, 1L, 2L, 3L), steps.stream().map(StepReport::step).toList(), "a skipped step applies no update");
            assertEquals(1, t.skippedSteps());
            StaticPoison.CALLS.set(0);
            StaticPoison.BAD_FROM = 0;
            StaticPoison.BAD_TO = 100;
            TrainingDiverged e = assertThrows(TrainingDiverged.class, () -> t.runStage(10, r -> {}));
            assertTrue(e.getMessage().contains("train.maxBadSteps = 1"), e.getMessage());
        } finally {
            s.stop();
        }
    }

    @Test
    void moreRanksThanTaskSlotsIsAConfigErrorNamingTheSettings() {
        SparkSession two = LocalSpark.start("local[2]");
        try {
            ConfigException e = assertThrows(ConfigException.class, () -> BarrierStage.requireSlots(two.sparkContext(), 3, 500));
            assertTrue(e.getMessage().contains("needs 3 tasks running at once (train.partitions = 3), but the cluster offers 2 task slots")
                    && e.getMessage().contains("lower train.partitions"), e.getMessage());
        } finally {
            two.stop();
        }
        SparkSession s = LocalSpark.start("local[2]", "spark.dynamicAllocation.enabled", "true");
        try {
            ConfigException e = assertThrows(ConfigException.class, () -> BarrierStage.requireSlots(s.sparkContext(), 2, 500));
            assertTrue(e.getMessage().contains("spark.dynamicAllocation.enabled=false"), e.getMessage());
            assertFalse(e.getMessage().contains("\n"));
        } finally {
            s.stop();
        }
    }

    /** NaN on steps [BAD_FROM, BAD_TO) on one rank, counted across task deserializations in this JVM (two ranks call it per step). */
    static final class StaticPoison implements Objective<LmExample> {
        static final java.util.concurrent.atomic.AtomicInteger CALLS = new java.util.concurrent.atomic.AtomicInteger();
        static volatile int BAD_FROM, BAD_TO;
        final LanguageModelObjective real = new LanguageModelObjective();

        @Override
        public StepStats accumulate(Gpt model, List<LmExample> ex, int micro, Parameters grads) {
            StepStats s = real.accumulate(model, ex, micro, grads);
            int call = CALLS.getAndIncrement(), step = call / 2;
            if (step >= BAD_FROM && step < BAD_TO && call % 2 == 0) grads.flat().set(0, Double.NaN);
            return s;
        }

        @Override
        public StepStats evaluate(Gpt model, List<LmExample> ex, int micro) {
            return real.evaluate(model, ex, micro);
        }
    }
}
