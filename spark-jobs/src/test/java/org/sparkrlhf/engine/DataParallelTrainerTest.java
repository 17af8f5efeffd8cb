package org.sparkrlhf.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
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

class DataParallelTrainerTest {
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

    static float[] train(SparkSession spark, Objective<LmExample> obj, int steps, List<Double> losses) {
        return train(spark, obj, steps, losses, 2, 16);
    }

    static float[] train(SparkSession spark, Objective<LmExample> obj, int steps, List<Double> losses, int partitions, int fanIn) {
        Gpt model = Gpt.init(CFG, DType.FLOAT32, 1);
        AdamW opt = new AdamW(AdamW.Config.defaults(LrSchedule.constant(1e-2)), model.parameters().layout(), DType.FLOAT32);
        ShardedData<LmExample> data = ShardedData.of(LocalSpark.jsc(spark).parallelize(data(64), 3), partitions);
        DataParallelTrainer<LmExample> t = new DataParallelTrainer<>(LocalSpark.jsc(spark), model, opt, obj, data,
                new DataParallelTrainer.Settings(8, 2, 42, 1, 1, fanIn));
        for (int i = 0; i < steps; i++) {
            StepReport rep = t.runStep();
            if (losses != null) losses.add(rep.loss());
        }
        data.release();
        return model.parameters().flat().toFloatArray();
    }

    @Test
    void learnsAndIsBitIdenticalWhateverTheNumberOfTaskThreads() {
        List<Double> losses = new ArrayList<>();
        float[] two, one;
        SparkSession s = LocalSpark.start("local[2]");
        try {
            two = train(s, new LanguageModelObjective(), 30, losses);
        } finally {
            s.stop();
        }
        assertTrue(losses.get(losses.size() - 1) < 0.5 * losses.get(0), "loss fell: " + losses);
        s = LocalSpark.start("local[1]");
        try {
            one = train(s, new LanguageModelObjective(), 30, null);
        } finally {
            s.stop();
        }
        assertArrayEquals(two, one);
    }

    @Test
    void aTreeOfExecutorSideSumsIsDeterministicAndAgreesWithTheDriverSum() {
        float[] treeTwo, treeOne, flat;
        SparkSession s = LocalSpark.start("local[2]");
        try {
            treeTwo = train(s, new LanguageModelObjective(), 5, null, 4, 2); // 4 partitions, groups of 2
            flat = train(s, new LanguageModelObjective(), 5, null, 4, 0);
        } finally {
            s.stop();
        }
        s = LocalSpark.start("local[1]");
        try {
            treeOne = train(s, new LanguageModelObjective(), 5, null, 4, 2);
        } finally {
            s.stop();
        }
        assertArrayEquals(treeTwo, treeOne, "the tree sums in a fixed order wherever it runs");
        for (int i = 0; i < flat.length; i++) assertEquals(flat[i], treeTwo[i], 1e-4, "parameter " + i);
    }

    @Test
    void nonFiniteGradientsAreSkippedCountedAndStopTheRunWhenTheyPersist() {
        SparkSession s = LocalSpark.start("local[1]");
        try {
            Gpt model = Gpt.init(CFG, DType.FLOAT32, 1);
            AdamW opt = new AdamW(AdamW.Config.defaults(LrSchedule.constant(1e-2)), model.parameters().layout(), DType.FLOAT32);
            ShardedData<LmExample> data = ShardedData.of(LocalSpark.jsc(s).parallelize(data(64), 2), 2);
            DataParallelTrainer<LmExample> t = new DataParallelTrainer<>(LocalSpark.jsc(s), model, opt, new StaticPoison(), data,
                    new DataParallelTrainer.Settings(8, 4, 1, 1, 1));
            StaticPoison.CALLS.set(0);
            StaticPoison.BAD_FROM = 1;
            StaticPoison.BAD_TO = 2;
            assertTrue(!t.runStep().skipped());
            float[] before = model.parameters().flat().toFloatArray();
            StepReport bad = t.runStep();
            assertTrue(bad.skipped());
            assertArrayEquals(before, model.parameters().flat().toFloatArray(), "a skipped step changes nothing");
            assertEquals(1, t.skippedSteps());
            assertTrue(!t.runStep().skipped());
            StaticPoison.BAD_FROM = 3;
            StaticPoison.BAD_TO = 100;
            assertTrue(t.runStep().skipped());
            TrainingDiverged e = assertThrows(TrainingDiverged.class, t::runStep);
            assertTrue(e.getMessage().contains("train.maxBadSteps = 1"), e.getMessage());
        } finally {
            s.stop();
        }
    }

    /** NaN on steps [BAD_FROM, BAD_TO), counted across task deserializations in this JVM. */
    static final class StaticPoison implements Objective<LmExample> {
        static final java.util.concurrent.atomic.AtomicInteger CALLS = new java.util.concurrent.atomic.AtomicInteger();
        static volatile int BAD_FROM, BAD_TO;
        final LanguageModelObjective real = new LanguageModelObjective();

        @Override
        public StepStats accumulate(Gpt model, List<LmExample> ex, int micro, Parameters grads) {
            StepStats s = real.accumulate(model, ex, micro, grads);
            int step = CALLS.getAndIncrement() / 2;
            if (step >= BAD_FROM && step < BAD_TO) grads.flat().set(0, Double.NaN);
            return s;
        }

        @Override
        public StepStats evaluate(Gpt model, List<LmExample> ex, int micro) {
            return real.evaluate(model, ex, micro);
        }
    }
}
