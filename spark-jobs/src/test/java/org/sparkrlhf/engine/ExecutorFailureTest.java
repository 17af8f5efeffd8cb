package org.sparkrlhf.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.optim.AdamW;
import org.sparkrlhf.optim.LrSchedule;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.training.LanguageModelObjective;
import org.sparkrlhf.training.LmExample;

/** A real multi-JVM cluster (local-cluster: two executor processes); one executor is killed mid-step. */
class ExecutorFailureTest {
    static SparkSession spark;

    @BeforeAll
    static void start() throws Exception {
        SparkConf conf = SparkDefaults.apply(new SparkConf()).setMaster("local-cluster[2,1,1024]").setAppName("executor-failure")
                .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1")
                .set("spark.local.dir", "target/spark-local").set("spark.task.maxFailures", "4");
        SparkHome.prepareLocalCluster(conf);
        spark = SparkSession.builder().config(conf).getOrCreate();
    }

    @AfterAll
    static void stop() {
        if (spark != null) spark.stop();
    }

    static BarrierTrainer<LmExample> trainer(JavaSparkContext jsc, Gpt model, RankHook hook) {
        AdamW opt = new AdamW(AdamW.Config.defaults(LrSchedule.constant(1e-3)), model.parameters().layout(), DType.FLOAT32);
        java.util.SplittableRandom r = new java.util.SplittableRandom(2);
        List<LmExample> ex = new java.util.ArrayList<>();
        for (int i = 0; i < 128; i++) ex.add(LmExample.plain(r.ints(65, 0, 256).toArray()));
        ShardedData<LmExample> data = ShardedData.of(jsc.parallelize(ex, 2), 2);
        return new BarrierTrainer<>(jsc, model, opt, new LanguageModelObjective(), data,
                new BarrierTrainer.Settings(32, 8, 5, 0, new StageSettings(1, java.time.Duration.ofSeconds(60), 2, true, hook)));
    }

    @Test
    void aStageWhoseExecutorDiesRunsAgainAndTrainingEndsExactlyAsUndisturbed() {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        GptConfig c = GptConfig.of(256, 64, 64, 4, 2);
        Gpt undisturbed = Gpt.init(c, DType.FLOAT32, 3), disturbed = Gpt.init(c, DType.FLOAT32, 3);
        BarrierTrainer<LmExample> calm = trainer(jsc, undisturbed, null);
        calm.runStage(3, r -> {});
        calm.runStage(6, r -> {});
        assertEquals(List.of(), calm.retried());

        // rank 1's executor JVM halts right after step 5, on the stage's first attempt only
        BarrierTrainer<LmExample> t = trainer(jsc, disturbed, (rank, step, attempt) -> {
            if (rank == 1 && step == 5 && attempt == 0) Runtime.getRuntime().halt(137);
        });
        t.runStage(3, r -> {});
        List<StepReport> second = t.runStage(6, r -> {});
        assertEquals(1, t.retried().size(), "the driver saw one failed stage and ran it again: " + t.retried());
        assertTrue(t.retried().get(0).matches("executor \\d+ was lost .*"), "the failure was the executor's loss: " + t.retried().get(0));
        assertEquals(List.of(4L, 5L, 6L), second.stream().map(StepReport::step).toList(), "the stage ran again from its start");
        assertArrayEquals(undisturbed.parameters().flat().toFloatArray(), disturbed.parameters().flat().toFloatArray());
    }

    record PpoRun(float[] policy, List<String> retried, List<Long> replayed, List<PpoTrainer.Report> reports) {}

    static PpoRun ppo(JavaSparkContext jsc, int iterations, RankHook hook) {
        return ppo(jsc, iterations, hook, false);
    }

    /** {@code modelsStayOnRanks}: only the last iteration brings the models back to the driver (as between checkpoints). */
    static PpoRun ppo(JavaSparkContext jsc, int iterations, RankHook hook, boolean modelsStayOnRanks) {
        GptConfig pc = GptConfig.of(32, 40, 32, 2, 1);
        Gpt policy = Gpt.init(pc, DType.FLOAT32, 1), reference = policy.frozenCopy();
        Gpt critic = Gpt.init(pc.withHeads(org.sparkrlhf.model.Head.VALUE), DType.FLOAT32, 2);
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        List<int[]> prompts = new java.util.ArrayList<>();
        for (int i = 0; i < 32; i++) prompts.add(r.ints(6, 0, 32).toArray());
        ShardedData<int[]> data = ShardedData.of(jsc.parallelize(prompts, 2), 2);
        PpoTrainer t = new PpoTrainer(jsc, new PpoTrainer.Models(policy, critic, reference, null, org.sparkrlhf.rl.RewardFunction.tokenFrequency(7)),
                new PpoTrainer.Optimizers(new AdamW(AdamW.Config.defaults(LrSchedule.constant(2e-3)), policy.parameters().layout(), DType.FLOAT32),
                        new AdamW(AdamW.Config.defaults(LrSchedule.constant(2e-3)), critic.parameters().layout(), DType.FLOAT32),
                        org.sparkrlhf.rl.KlController.adaptive(0.1, 6.0, 100)),
                new PpoTrainer.Settings(new org.sparkrlhf.rl.ExperienceMaker.Settings(org.sparkrlhf.sampling.SamplingConfig.of(1.0, 24), 0, 31,
                        new org.sparkrlhf.rl.ExperienceMaker.ScoreNorm(0, 0.25), org.sparkrlhf.rl.PpoSettings.defaults(), 8), 16, 2, 2, 11, 0,
                        new StageSettings(1, java.time.Duration.ofSeconds(60), 2, true, hook)), data);
        List<PpoTrainer.Report> reports = new java.util.ArrayList<>();
        for (int i = 0; i < iterations; i++) reports.add(t.runIteration(!modelsStayOnRanks || i == iterations - 1));
        data.release();
        return new PpoRun(policy.parameters().flat().toFloatArray(), t.retried(), t.replayed(), reports);
    }

    @Test
    void aPpoStageWhoseExecutorDiesRunsTheIterationAgainAndEndsExactlyAsUndisturbed() {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        PpoRun undisturbed = ppo(jsc, 3, null);
        assertEquals(List.of(), undisturbed.retried());
        // 2 epochs x 2 minibatches per iteration: update 6 is the second of iteration 2, after its rollouts
        PpoRun disturbed = ppo(jsc, 3, (rank, update, attempt) -> {
            if (rank == 1 && update == 6 && attempt == 0) Runtime.getRuntime().halt(137);
        });
        assertEquals(1, disturbed.retried().size(), "the driver saw one failed stage and ran it again: " + disturbed.retried());
        assertTrue(disturbed.retried().get(0).matches("executor \\d+ was lost .*"), "the failure was the executor's loss: " + disturbed.retried().get(0));
        assertEquals(List.of(1L, 2L, 3L), disturbed.reports().stream().map(PpoTrainer.Report::iteration).toList());
        assertEquals(undisturbed.reports().get(1).scoreMean(), disturbed.reports().get(1).scoreMean(), "iteration 2 ran again from its start");
        assertArrayEquals(undisturbed.policy(), disturbed.policy());
        assertEquals(List.of(), disturbed.replayed(), "the driver held iteration 1's models: nothing to replay");
    }

    @Test
    void whenTheModelsStayedOnTheRanksTheDriverReplaysTheIterationsSinceItsCopy() {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        PpoRun undisturbed = ppo(jsc, 3, null, true);
        assertEquals(List.of(), undisturbed.replayed());
        // update 10 is the second of iteration 3; the driver's copy is from before iteration 1
        PpoRun disturbed = ppo(jsc, 3, (rank, update, attempt) -> {
            if (rank == 0 && update == 10 && attempt == 0) Runtime.getRuntime().halt(137);
        }, true);
        assertEquals(1, disturbed.retried().size(), "one failed stage: " + disturbed.retried());
        assertTrue(disturbed.retried().get(0).matches("executor \\d+ was lost .*"), disturbed.retried().get(0));
        assertEquals(List.of(1L, 2L), disturbed.replayed(), "iterations 1 and 2 ran again from the driver's copy before iteration 3");
        assertArrayEquals(undisturbed.policy(), disturbed.policy());
        assertEquals(undisturbed.reports().get(2).scoreMean(), disturbed.reports().get(2).scoreMean());
    }
}
