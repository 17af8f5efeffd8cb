package org.sparkrlhf.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.sparkrlhf.engine.DataParallelTrainer;
import org.sparkrlhf.engine.ShardedData;
import org.sparkrlhf.engine.SparkDefaults;
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
@Command(name = "bench train", mixinStandardHelpOptions = true, description = "Data-parallel training throughput and Spark overhead.")
public final class TrainBenchmark implements Callable<Integer> {

    @Option(names = "--json", description = "Print one JSON object (the last line) after the table.")
    boolean json;

    @Option(names = "--master", defaultValue = "local[2]", description = "Spark master (default: ${DEFAULT-VALUE}).")
    String master;

    @Option(names = "--steps", defaultValue = "20", description = "Timed steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--partitions", defaultValue = "2", description = "Data partitions = tasks per step (default: ${DEFAULT-VALUE}).")
    int partitions;

    static final int GLOBAL_BATCH = 64, MICRO_BATCH = 16;

    public static void main(String[] args) {
        System.exit(new CommandLine(new TrainBenchmark()).execute(args));
    }

    @Override
    public Integer call() {
        GptConfig c = GptConfig.of(256, 64, 128, 4, 2);
        SparkConf conf = SparkDefaults.apply(new SparkConf()).setMaster(master).setAppName("bench-train")
                .setIfMissing("spark.ui.enabled", "false");
        SparkSession spark = SparkSession.builder().config(conf).getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        try {
            Result r = run(JavaSparkContext.fromSparkContext(spark.sparkContext()), c, partitions, steps);
            System.out.printf("%-10s %10s %12s %16s %14s%n", "master", "tasks", "tokens/s", "step ms (mean)", "Spark overhead");
            System.out.printf("%-10s %10d %12.0f %16.1f %13.1f%%%n", master, partitions, r.tokensPerSecond, r.meanStepMs, 100 * r.overhead);
            if (json) {
                ObjectNode o = new ObjectMapper().createObjectNode();
                o.put("master", master);
                o.put("tokens_per_s", Math.round(r.tokensPerSecond));
                o.put("spark_overhead_fraction", Math.round(r.overhead * 1000) / 1000.0);
                o.put("mean_step_ms", Math.round(r.meanStepMs * 10) / 10.0);
                System.out.println(o);
            }
        } finally {
            spark.stop();
        }
        return 0;
    }

    record Result(double tokensPerSecond, double overhead, double meanStepMs) {}

    static Result run(JavaSparkContext jsc, GptConfig c, int partitions, int steps) {
        SplittableRandom r = new SplittableRandom(1);
        List<LmExample> examples = new ArrayList<>();
        for (int i = 0; i < GLOBAL_BATCH * 8; i++) examples.add(LmExample.plain(r.ints(c.contextLength() + 1, 0, c.vocabSize()).toArray()));
        Gpt model = Gpt.init(c, DType.FLOAT32, 1);
        AdamW opt = new AdamW(AdamW.Config.defaults(LrSchedule.constant(3e-4)), model.parameters().layout(), DType.FLOAT32);
        ShardedData<LmExample> data = ShardedData.of(jsc.parallelize(examples, partitions), partitions);
        DataParallelTrainer<LmExample> t = new DataParallelTrainer<>(jsc, model, opt, new LanguageModelObjective(), data,
                new DataParallelTrainer.Settings(GLOBAL_BATCH, MICRO_BATCH, 7, 0, 1));
        for (int i = 0; i < 5; i++) t.runStep(); // warm-up: JIT, resident models
        long wall = 0, overhead = 0, tokens = 0;
        for (int i = 0; i < steps; i++) {
            StepReport rep = t.runStep();
            wall += rep.wallNanos();
            overhead += rep.wallNanos() - rep.slowestTaskNanos();
            tokens += (long) rep.count();
        }
        data.release();
        return new Result(tokens / (wall / 1e9), (double) overhead / wall, wall / 1e6 / steps);
    }
}
