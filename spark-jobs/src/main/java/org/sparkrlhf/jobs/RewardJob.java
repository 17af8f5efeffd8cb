package org.sparkrlhf.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.sparkrlhf.checkpoint.CheckpointStore;
import org.sparkrlhf.cli.Version;
import org.sparkrlhf.config.JobConfig;
import org.sparkrlhf.data.Parsed;
import org.sparkrlhf.data.PreferenceRecords;
import org.sparkrlhf.data.Quarantine;
import org.sparkrlhf.data.SourceLine;
import org.sparkrlhf.engine.SparkDefaults;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.Head;
import org.sparkrlhf.rundir.RunDirectory;
import org.sparkrlhf.tokenizer.Tokenizer;
import org.sparkrlhf.tokenizer.Tokenizers;
import org.sparkrlhf.training.PreferenceGroup;
import org.sparkrlhf.training.RewardObjective;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Reward-model training from human preferences (pairs or rankings, all pairs of a ranking kept
 * together), Bradley-Terry loss with optional margins (and, for records whose responses carry
 * safety labels, Safe RLHF's sign term, weighted by {@code reward.safetyLabelWeight}), evaluated on held-out comparisons at each
 * checkpoint; the best checkpoint by held-out accuracy is kept. Each checkpoint carries
 * {@code reward_norm.json}: the score mean and standard deviation that PPO normalizes rewards with.
 */
@Command(name = "reward", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Train a reward model on preference records ({prompt, chosen, rejected} or {prompt, responses, ranking}).")
public final class RewardJob extends JobCommand {
    private static final ObjectMapper JSON = new ObjectMapper();

    public static void main(String[] args) {
        SparkDefaults.exit(new CommandLine(new RewardJob()).execute(args));
    }

    @Override
    protected TrainingLoop.Outcome run(SparkSession spark, JobConfig cfg) throws Exception {
        return train(spark, cfg, null);
    }

    public static TrainingLoop.Outcome train(SparkSession spark, JobConfig cfg, TrainingLoop.StepListener listener) throws Exception {
        return RunDirectory.within(cfg, "reward", spark.sparkContext().hadoopConfiguration(), dir -> train(spark, cfg, dir, listener));
    }

    private static TrainingLoop.Outcome train(SparkSession spark, JobConfig cfg, RunDirectory dir, TrainingLoop.StepListener listener) throws Exception {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Path runDir = new Path(cfg.run().dir());
        FileSystem fs = cfg.runFileSystem(jsc.hadoopConfiguration());
        TrainingRound round = TrainingRound.plan(cfg, jsc.hadoopConfiguration(), dir.resumeFrom());
        if (round.nothingToDo()) return TrainingLoop.idle(cfg, round, "reward");
        HeldOutSplit<PreferenceGroup> split = HeldOutSplit.of(spark, cfg, round, fs, runDir, lines -> parse(cfg, lines));
        Quarantine.Result<PreferenceGroup> train = split.train(), eval = split.eval();
        JavaRDD<PreferenceGroup> evalGroups = eval.good().persist(StorageLevel.MEMORY_AND_DISK());
        JavaRDD<PreferenceGroup> trainGroups = train.good();

        GptConfig modelCfg = cfg.gptConfig(Head.REWARD);
        Map<String, Object> counts = new LinkedHashMap<>();
        train.counts().addTo(counts, "");
        eval.counts().addTo(counts, "eval_");

        TrainingLoop.Hooks hooks = new TrainingLoop.Hooks() {
            ObjectNode lastEval;

            @Override
            public Double evaluate(Gpt model, long step, ObjectNode row) throws IOException {
                lastEval = RewardEvaluation.summarize(jsc, RewardEvaluation.score(jsc, model, evalGroups));
                lastEval.put("step", step);
                try (OutputStream out = fs.create(new Path(runDir, "eval/reward-step-" + step + ".json"), true)) {
                    out.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(lastEval));
                }
                for (String k : new String[]{"accuracy", "roc_auc", "ece", "safety_sign_accuracy", "score_mean", "score_std"})
                    if (lastEval.has(k)) row.put("eval_" + k, lastEval.get(k).asDouble());
                return lastEval.has("accuracy") ? lastEval.get("accuracy").asDouble() : null;
            }

            @Override
            public Map<String, CheckpointStore.FileWriter> extraFiles(Gpt model) {
                ObjectNode norm = JSON.createObjectNode();
                norm.put("mean", lastEval.path("score_mean").asDouble(0));
                norm.put("std", lastEval.path("score_std").asDouble(1));
                norm.put("pairs", lastEval.path("pairs").asLong(0));
                norm.put("source", "held-out preference responses");
                return Map.of("reward_norm.json", out -> out.write(JSON.writeValueAsBytes(norm)),
                        "eval.json", out -> out.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(lastEval)));
            }
        };
        return TrainingLoop.run(spark, cfg, dir, round, modelCfg, new RewardObjective(cfg.reward().safetyLabelWeight()), trainGroups, "reward", counts, listener, hooks);
    }

    private static JavaRDD<Parsed<PreferenceGroup>> parse(JobConfig cfg, JavaRDD<SourceLine> lines) {
        int maxChars = cfg.data().maxChars(), ctx = cfg.model().contextLength();
        String tokSpec = cfg.model().tokenizer();
        return lines.mapPartitions(it -> {
            Tokenizer tok = Tokenizers.create(tokSpec);
            List<Parsed<PreferenceGroup>> out = new ArrayList<>();
            it.forEachRemaining((SourceLine l) -> out.add(PreferenceRecords.parse(l, maxChars, tok, ctx)));
            return out.iterator();
        });
    }
}
