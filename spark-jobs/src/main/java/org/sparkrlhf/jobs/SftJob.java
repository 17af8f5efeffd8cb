package org.sparkrlhf.jobs;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.sparkrlhf.cli.Version;
import org.sparkrlhf.config.JobConfig;
import org.sparkrlhf.data.Parsed;
import org.sparkrlhf.data.Quarantine;
import org.sparkrlhf.data.RecordFiles;
import org.sparkrlhf.data.SftRecords;
import org.sparkrlhf.engine.SparkDefaults;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.rundir.RunDirectory;
import org.sparkrlhf.tokenizer.Tokenizer;
import org.sparkrlhf.tokenizer.Tokenizers;
import org.sparkrlhf.training.LanguageModelObjective;
import org.sparkrlhf.training.LmExample;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Supervised fine-tuning: the loss is on assistant tokens only; start from pre-trained weights with model.init. */
@Command(name = "sft", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Fine-tune on {prompt, response} or chat {messages} records (loss on responses only).")
public final class SftJob extends JobCommand {

    public static void main(String[] args) {
        SparkDefaults.exit(new CommandLine(new SftJob()).execute(args));
    }

    @Override
    protected TrainingLoop.Outcome run(SparkSession spark, JobConfig cfg) throws Exception {
        return train(spark, cfg, null);
    }

    public static TrainingLoop.Outcome train(SparkSession spark, JobConfig cfg, TrainingLoop.StepListener listener) throws Exception {
        return RunDirectory.within(cfg, "sft", spark.sparkContext().hadoopConfiguration(), dir -> train(spark, cfg, dir, listener));
    }

    private static TrainingLoop.Outcome train(SparkSession spark, JobConfig cfg, RunDirectory dir, TrainingLoop.StepListener listener) throws Exception {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Path runDir = new Path(cfg.run().dir());
        FileSystem fs = cfg.runFileSystem(jsc.hadoopConfiguration());
        int maxChars = cfg.data().maxChars(), ctx = cfg.model().contextLength();
        String tokSpec = cfg.model().tokenizer();
        TrainingRound round = TrainingRound.plan(cfg, jsc.hadoopConfiguration(), dir.resumeFrom());
        if (round.nothingToDo()) return TrainingLoop.idle(cfg, round, "sft");
        var parsed = RecordFiles.read(spark, round.paths(), cfg.data().train(), cfg.data().format()).mapPartitions(it -> {
            Tokenizer tok = Tokenizers.create(tokSpec);
            List<Parsed<LmExample>> out = new ArrayList<>();
            it.forEachRemaining(l -> out.add(SftRecords.parseAndEncode(l, maxChars, tok, ctx)));
            return out.iterator();
        });
        Quarantine.Result<LmExample> good = Quarantine.apply(parsed, fs, runDir, "train", cfg.data().maxBadFraction());
        GptConfig modelCfg = cfg.gptConfig();
        Map<String, Object> counts = new LinkedHashMap<>();
        good.counts().addTo(counts, "");
        return TrainingLoop.run(spark, cfg, dir, round, modelCfg, new LanguageModelObjective(), good.good(), "sft", counts, listener);
    }
}
