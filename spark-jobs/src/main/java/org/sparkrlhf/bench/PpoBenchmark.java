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
import org.sparkrlhf.engine.PpoTrainer;
import org.sparkrlhf.engine.ShardedData;
import org.sparkrlhf.engine.SparkDefaults;
import org.sparkrlhf.engine.StageSettings;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.Head;
import org.sparkrlhf.optim.AdamW;
import org.sparkrlhf.optim.LrSchedule;
import org.sparkrlhf.rl.ExperienceMaker;
import org.sparkrlhf.rl.KlController;
import org.sparkrlhf.rl.PpoSettings;
import org.sparkrlhf.sampling.SamplingConfig;
import org.sparkrlhf.tensor.DType;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code rlhf bench ppo}: PPO iterations of 64 prompts x 48 new tokens with the {@code small}
 * policy, critic, reference and reward model on Spark, and where each iteration's time goes.
 */
@Command(name = "bench ppo", mixinStandardHelpOptions = true, versionProvider = org.sparkrlhf.cli.Version.class, description = "Time split of PPO iterations on Spark.")
public final class PpoBenchmark implements Callable<Integer> {

    @Option(names = "--json", description = "Print one JSON object (the last line) after the table.")
    boolean json;

    @Option(names = "--master", defaultValue = "local[2]", description = "Spark master (default: ${DEFAULT-VALUE}).")
    String master;

    @Option(names = "--iterations", defaultValue = "3", description = "Timed iterations, after one warm-up (default: ${DEFAULT-VALUE}).")
    int iterations;

    @Option(names = "--checkpoint-every", defaultValue = "50", description = "Iterations between checkpoints, when the models return to the driver "
            + "(default: ${DEFAULT-VALUE}, the jobs' train.checkpointEvery).")
    int checkpointEvery;

    public static void main(String[] args) {
        SparkDefaults.exit(new CommandLine(new PpoBenchmark()).execute(args));
    }

    @Override
    public Integer call() {
        SparkConf conf = SparkDefaults.apply(new SparkConf()).setMaster(master).setAppName("bench-ppo").setIfMissing("spark.ui.enabled", "false");
        SparkSession spark = SparkSession.builder().config(conf).getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        try {
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            GptConfig small = GptConfig.of(256, 64, 128, 4, 2);
            Gpt policy = Gpt.init(small, DType.FLOAT32, 1), reference = policy.frozenCopy();
            Gpt critic = Gpt.init(small.withHeads(Head.VALUE), DType.FLOAT32, 2), reward = Gpt.init(small.withHeads(Head.REWARD), DType.FLOAT32, 3);
            critic.parameters().copySharedFrom(reward.parameters());
            SplittableRandom r = new SplittableRandom(4);
            List<int[]> prompts = new ArrayList<>();
            for (int i = 0; i < 256; i++) prompts.add(r.ints(16, 0, 255).toArray());
            ShardedData<int[]> data = ShardedData.of(jsc.parallelize(prompts, 2), 2);
            PpoTrainer t = new PpoTrainer(jsc, new PpoTrainer.Models(policy, critic, reference, reward, null),
                    new PpoTrainer.Optimizers(new AdamW(AdamW.Config.defaults(LrSchedule.constant(1e-4)), policy.parameters().layout(), DType.FLOAT32),
                            new AdamW(AdamW.Config.defaults(LrSchedule.constant(1e-4)), critic.parameters().layout(), DType.FLOAT32),
                            KlController.adaptive(0.1, 6, 10000)),
                    new PpoTrainer.Settings(new ExperienceMaker.Settings(new SamplingConfig(0.7, 0, 1.0, 48, new int[0], false), 0, 255,
                            new ExperienceMaker.ScoreNorm(0, 1), PpoSettings.defaults(), 16), 64, 4, 2, 5, 0,
                            new StageSettings(1, Duration.ofSeconds(60), 0, true, null)), data);
            t.runIteration(); // warm-up
            double iter = 0, samp = 0, score = 0, train = 0, over = 0, sampled = 0;
            for (int i = 0; i < iterations; i++) {
                PpoTrainer.Report rep = t.runIteration((i + 2) % checkpointEvery == 0);
                iter += rep.iterationSeconds();
                samp += rep.samplingSeconds();
                score += rep.scoringSeconds();
                train += rep.trainingSeconds();
                over += rep.overheadSeconds();
                sampled += rep.responseLength() * 64;
            }
            int n = iterations;
            System.out.printf("%-12s %8s %9s %9s %9s %14s%n", "iteration s", "sampling", "scoring", "training", "overhead", "sample tok/s");
            System.out.printf("%-12.2f %8.2f %9.2f %9.2f %8.0f%% %14.0f%n", iter / n, samp / n, score / n, train / n, 100 * over / iter, sampled / samp);
            if (json) {
                ObjectNode o = new ObjectMapper().createObjectNode();
                o.put("iteration_seconds", round(iter / n));
                o.put("sampling_seconds", round(samp / n));
                o.put("scoring_seconds", round(score / n));
                o.put("training_seconds", round(train / n));
                o.put("spark_overhead_fraction", round(over / iter));
                o.put("sample_tokens_per_s", Math.round(sampled / samp));
                o.put("master", master);
                System.out.println(o);
            }
            data.release();
        } finally {
            spark.stop();
        }
        return 0;
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
