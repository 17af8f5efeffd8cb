package org.sparkrlhf.jobs;

import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.sparkrlhf.cli.Version;
import org.sparkrlhf.config.JobConfig;
import org.sparkrlhf.data.Quarantine;
import org.sparkrlhf.data.RecordFiles;
import org.sparkrlhf.data.TextRecords;
import org.sparkrlhf.data.TokenBlocks;
import org.sparkrlhf.engine.SparkDefaults;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.rundir.RunDirectory;
import org.sparkrlhf.training.LanguageModelObjective;
import org.sparkrlhf.training.LmExample;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Pre-training: next-token prediction on plain text records {@code {"text": ...}}. */
@Command(name = "pretrain", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Pre-train a GPT on JSON-lines text ({\"text\": ...}) with data-parallel Spark training.")
public final class PretrainJob extends JobCommand {

    public static void main(String[] args) {
        SparkDefaults.exit(new CommandLine(new PretrainJob()).execute(args));
    }

    @Override
    protected TrainingLoop.Outcome run(SparkSession spark, JobConfig cfg) throws Exception {
        return train(spark, cfg, null);
    }

    /** The job body, callable from tests (with a listener that may interrupt it). */
    public static TrainingLoop.Outcome train(SparkSession spark, JobConfig cfg, TrainingLoop.StepListener listener) throws Exception {
        return RunDirectory.within(cfg, "pretrain", spark.sparkContext().hadoopConfiguration(), dir -> train(spark, cfg, dir, listener));
    }

    private static TrainingLoop.Outcome train(SparkSession spark, JobConfig cfg, RunDirectory dir, TrainingLoop.StepListener listener) throws Exception {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Path runDir = new Path(cfg.run().dir());
        FileSystem fs = cfg.runFileSystem(jsc.hadoopConfiguration());
        int maxChars = cfg.data().maxChars();
        TrainingRound round = TrainingRound.plan(cfg, jsc.hadoopConfiguration(), dir.resumeFrom());
        if (round.nothingToDo()) return TrainingLoop.idle(cfg, round, "pretrain");
        Quarantine.Result<String> texts = Quarantine.apply(RecordFiles.read(spark, round.paths(), cfg.data().train(), cfg.data().format())
                        .map(l -> TextRecords.parse(l, maxChars)),
                fs, runDir, "train", cfg.data().maxBadFraction());
        JavaRDD<LmExample> examples = TokenBlocks.of(texts.good(), cfg.model().tokenizer(), cfg.model().contextLength());
        GptConfig modelCfg = cfg.gptConfig();
        Map<String, Object> counts = new LinkedHashMap<>();
        texts.counts().addTo(counts, "");
        return TrainingLoop.run(spark, cfg, dir, round, modelCfg, new LanguageModelObjective(), examples, "pretrain", counts, listener);
    }
}
