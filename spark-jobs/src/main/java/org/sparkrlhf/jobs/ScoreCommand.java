package org.sparkrlhf.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.sparkrlhf.cli.Version;
import org.sparkrlhf.data.Quarantine;
import org.sparkrlhf.data.RecordFiles;
import org.sparkrlhf.data.TextPairRecords;
import org.sparkrlhf.data.TextPairRecords.Pair;
import org.sparkrlhf.demo.StageBar;
import org.sparkrlhf.engine.ModelBytes;
import org.sparkrlhf.engine.SparkDefaults;
import org.sparkrlhf.model.Head;
import org.sparkrlhf.tokenizer.Tokenizers;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code rlhf score}: a reward model over {@code {prompt, response}} records (or chat
 * {@code messages} plus a {@code response}), as a Spark job: each record's raw score and the score
 * normalized as PPO uses it, in the records' order. Writes {@code OUT/scores}, {@code OUT/score.json}
 * and {@code OUT/quarantine/records.jsonl}.
 */
@Command(name = "score", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Score {prompt, response} records with a reward model, as a Spark job (JSON lines or Parquet out).")
public final class ScoreCommand implements Callable<Integer> {
    @picocli.CommandLine.Mixin
    RecordJobOptions io = new RecordJobOptions();

    @Option(names = "--reward", required = true, description = "The reward model: a reward-job checkpoint directory or hf:DIR.")
    String reward;
    @Option(names = "--records", required = true, description = "Records with 'prompt' (or 'messages') and 'response', a file or directory, any Hadoop URI.")
    String records;

    public static void main(String[] args) {
        SparkDefaults.exit(new CommandLine(new ScoreCommand()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        return io.execute("spark-rlhf score", io::check, spark -> String.format("done: %,d scores in %s/scores (%s)", run(spark), io.out, io.outFormat));
    }

    long run(SparkSession spark) throws IOException {
        Configuration hadoop = spark.sparkContext().hadoopConfiguration();
        Path outDir = io.newOutDir(hadoop);
        FileSystem fs = outDir.getFileSystem(hadoop);
        ModelSpec scorer = ModelSpec.resolve(hadoop, "--reward", reward, io.tokenizer);
        if (!scorer.model().config().has(Head.REWARD)) throw new ModelFileException("--reward " + reward + " is not a reward model (no reward head)");
        String spec = scorer.tokenizer();
        int chars = io.maxChars, maxTokens = scorer.model().config().contextLength();
        JavaRDD<org.sparkrlhf.data.Parsed<Pair>> parsed = RecordFiles.read(spark, records, io.format, "--records")
                .map(src -> TextPairRecords.parse(src, chars, Tokenizers.create(spec), maxTokens, true));
        Quarantine.Result<Pair> good = Quarantine.apply(parsed, fs, outDir, "records", io.maxBadFraction, "--max-bad-fraction");
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        int parts = io.partitions > 0 ? io.partitions : jsc.defaultParallelism();
        var models = jsc.broadcast(new ModelBytes[]{null, ModelBytes.of(scorer.model())});
        long t0 = System.nanoTime(), count;
        try (StageBar bar = StageBar.tasks(spark.sparkContext())) {
            Generation.Job job = new Generation.Job(models, spec, null, 1, 0, 0, scorer.norm(),
                    Integer.parseInt(spark.sparkContext().getConf().get("spark.task.cpus", "1")), false);
            JavaRDD<String> lines = Generation.score(good.good().zipWithIndex(), parts, job).cache();
            count = GenerateCommand.write(spark, lines, new Path(outDir, "scores").toString(), io.outFormat);
            lines.unpersist(false);
        } finally {
            models.unpersist(false);
        }
        ObjectNode p = new ObjectMapper().createObjectNode();
        p.put("command", "score");
        p.put("reward", scorer.weights());
        p.put("tokenizer", spec);
        p.put("records", records);
        p.put("record_count", good.counts().total());
        p.put("quarantined", good.counts().bad());
        p.put("scores", count);
        p.put("score_mean", scorer.norm().mean());
        p.put("score_std", scorer.norm().std());
        p.put("partitions", parts);
        p.put("seconds", (System.nanoTime() - t0) / 1e9);
        GenerateCommand.provenance(fs, new Path(outDir, "score.json"), p);
        return count;
    }
}
