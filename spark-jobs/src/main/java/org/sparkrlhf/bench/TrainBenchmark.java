package org.sparkrlhf.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.sparkrlhf.engine.BarrierTrainer;
import org.sparkrlhf.engine.ShardedData;
import org.sparkrlhf.engine.SparkDefaults;
import org.sparkrlhf.engine.SparkHome;
import org.sparkrlhf.engine.StageSettings;
import org.sparkrlhf.engine.StepReport;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.optim.AdamW;
import org.sparkrlhf.optim.LrSchedule;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.training.LanguageModelObjective;
import org.sparkrlhf.training.LmExample;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code rlhf bench train}: data-parallel training of the {@code small} model on Spark with a
 * global batch of 64 sequences, reporting throughput and Spark's share of each step (step wall
 * time minus the slowest task's compute, over the wall time).
 */
@Command(name = "bench train", mixinStandardHelpOptions = true, versionProvider = org.sparkrlhf.cli.Version.class, description = "Data-parallel training throughput and Spark overhead.")
public final class TrainBenchmark implements Callable<Integer> {

    @Option(names = "--json", description = "Print one JSON object (the last line) after the table.")
    boolean json;

    @Option(names = "--master", defaultValue = "local[2]", description = "Spark master (default: ${DEFAULT-VALUE}).")
    String master;

    @Option(names = "--steps", defaultValue = "50", description = "Timed steps, one training stage as with train.checkpointEvery = steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--partitions", defaultValue = "2", description = "Ranks on --master (default: ${DEFAULT-VALUE}).")
    int partitions;

    @Option(names = "--no-scaling", negatable = true, defaultValue = "true",
            description = "Also compare local-cluster with 1 and 2 single-core executors (separate JVMs; needs SPARK_HOME, set by bin/rlhf).")
    boolean scaling;

    static final int GLOBAL_BATCH = 64, MICRO_BATCH = 16;

    public static void main(String[] args) {
        SparkDefaults.exit(new CommandLine(new TrainBenchmark()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        GptConfig c = GptConfig.of(256, 64, 128, 4, 2);
        System.out.printf("%-24s %6s %12s %16s %14s%n", "master", "ranks", "tokens/s", "step ms (mean)", "Spark overhead");
        Result main = runOn(master, c, partitions);
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("master", master);
        o.put("tokens_per_s", Math.round(main.tokensPerSecond));
        o.put("spark_overhead_fraction", Math.round(main.overhead * 1000) / 1000.0);
        o.put("mean_step_ms", Math.round(main.meanStepMs * 10) / 10.0);
        if (scaling) {
            if (System.getenv("SPARK_HOME") == null)
                throw new CommandLine.ParameterException(new CommandLine(this), "scaling needs SPARK_HOME (bin/rlhf sets it) or --no-scaling");
            // one rank per single-core executor: the same global batch split over one or two ranks
            Result one = runOn("local-cluster[1,1,1024]", c, 1), two = runOn("local-cluster[2,1,1024]", c, 2);
            double ratio = two.tokensPerSecond / one.tokensPerSecond;
            System.out.printf("scaling, 2 executors over 1: %.2fx%n", ratio);
            o.put("tokens_per_s_1_executor", Math.round(one.tokensPerSecond));
            o.put("tokens_per_s_2_executors", Math.round(two.tokensPerSecond));
            o.put("scaling_2_executors", Math.round(ratio * 100) / 100.0);
            o.put("spark_overhead_fraction_2_executors", Math.round(two.overhead * 1000) / 1000.0);
        }
        if (json) System.out.println(o);
        return 0;
    }

    private Result runOn(String m, GptConfig c, int ranks) {
        SparkConf conf = SparkDefaults.apply(new SparkConf()).setMaster(m).setAppName("bench-train")
                .setIfMissing("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1");
        if (m.startsWith("local-cluster")) SparkHome.prepareLocalCluster(conf);
        SparkSession spark = SparkSession.builder().config(conf).getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        try {
            Result r = run(JavaSparkContext.fromSparkContext(spark.sparkContext()), c, ranks, steps);
            System.out.printf("%-24s %6d %12.0f %16.1f %13.1f%%%n", m, ranks, r.tokensPerSecond, r.meanStepMs, 100 * r.overhead);
            return r;
        } finally {
            spark.stop();
        }
    }

    record Result(double tokensPerSecond, double overhead, double meanStepMs) {}

    static Result run(JavaSparkContext jsc, GptConfig c, int partitions, int steps) {
        SplittableRandom r = new SplittableRandom(1);
        List<LmExample> examples = new ArrayList<>();
        for (int i = 0; i < GLOBAL_BATCH * 8; i++) examples.add(LmExample.plain(r.ints(c.contextLength() + 1, 0, c.vocabSize()).toArray()));
        Gpt model = Gpt.init(c, DType.FLOAT32, 1);
        AdamW opt = new AdamW(AdamW.Config.defaults(LrSchedule.constant(3e-4)), model.parameters().layout(), DType.FLOAT32);
        ShardedData<LmExample> data = ShardedData.of(jsc.parallelize(examples, partitions), partitions);
        BarrierTrainer<LmExample> t = new BarrierTrainer<>(jsc, model, opt, new LanguageModelObjective(), data,
                new BarrierTrainer.Settings(GLOBAL_BATCH, MICRO_BATCH, 7, 0, new StageSettings(1, Duration.ofSeconds(60), 0, true, null)));
        t.runStage(15, rep -> {}); // warm-up: JIT in every executor JVM, resident replicas
        // one stage of `steps` steps, as a run with that checkpoint interval has: wall time on the driver, stage start to results
        long t0 = System.nanoTime();
        List<StepReport> reps = t.runStage(15 + steps, rep -> {});
        long wall = System.nanoTime() - t0, compute = 0, tokens = 0;
        for (StepReport rep : reps) {
            compute += rep.slowestTaskNanos();
            tokens += (long) rep.count();
        }
        long overhead = wall - compute;
        data.release();
        return new Result(tokens / (wall / 1e9), (double) overhead / wall, wall / 1e6 / steps);
    }
}
