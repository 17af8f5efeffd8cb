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
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.sparkrlhf.cli.Version;
import org.sparkrlhf.config.JobConfig;
import org.sparkrlhf.data.Parsed;
import org.sparkrlhf.data.PreferenceRecords;
import org.sparkrlhf.data.Quarantine;
import org.sparkrlhf.data.SourceLine;
import org.sparkrlhf.engine.ModelBytes;
import org.sparkrlhf.engine.SparkDefaults;
import org.sparkrlhf.engine.TaskSetup;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.rundir.RunDirectory;
import org.sparkrlhf.rl.SequenceKl;
import org.sparkrlhf.sampling.SamplingConfig;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tokenizer.Tokenizer;
import org.sparkrlhf.tokenizer.Tokenizers;
import org.sparkrlhf.training.DpoObjective;
import org.sparkrlhf.training.DpoPair;
import org.sparkrlhf.training.PreferenceGroup;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Direct preference optimization from preference pairs or rankings (every pair of a ranking), starting
 * from {@code model.init} (the SFT model), which is also the frozen reference: its log-probabilities of
 * each pair's responses are computed once on the executors and kept with the data. Evaluated on
 * held-out pairs at each checkpoint (accuracy of the implicit reward, its margin, the loss); the best
 * checkpoint by held-out accuracy is kept.
 */
@Command(name = "dpo", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Direct preference optimization on preference records ({prompt, chosen, rejected} or {prompt, responses, ranking}).")
public final class DpoJob extends JobCommand {
    private static final ObjectMapper JSON = new ObjectMapper();

    public static void main(String[] args) {
        SparkDefaults.exit(new CommandLine(new DpoJob()).execute(args));
    }

    @Override
    protected JobConfig validate(JobConfig cfg) {
        return cfg.validateDpo();
    }

    @Override
    protected TrainingLoop.Outcome run(SparkSession spark, JobConfig cfg) throws Exception {
        return train(spark, cfg, null);
    }

    public static TrainingLoop.Outcome train(SparkSession spark, JobConfig cfg, TrainingLoop.StepListener listener) throws Exception {
        cfg.validateDpo();
        return RunDirectory.within(cfg, "dpo", spark.sparkContext().hadoopConfiguration(), dir -> train(spark, cfg, dir, listener));
    }

    private static TrainingLoop.Outcome train(SparkSession spark, JobConfig cfg, RunDirectory dir, TrainingLoop.StepListener listener) throws Exception {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Path runDir = new Path(cfg.run().dir());
        FileSystem fs = cfg.runFileSystem(jsc.hadoopConfiguration());
        TrainingRound round = TrainingRound.plan(cfg, jsc.hadoopConfiguration(), dir.resumeFrom());
        if (round.nothingToDo()) return TrainingLoop.idle(cfg, round, "dpo");
        HeldOutSplit<List<DpoPair>> split = HeldOutSplit.of(spark, cfg, round, fs, runDir, lines -> parse(cfg, lines));
        Quarantine.Result<List<DpoPair>> train = split.train(), eval = split.eval();

        // the reference: the model DPO starts from, scoring every pair once on the executors
        GptConfig modelCfg = cfg.gptConfig();
        Gpt reference = Gpt.init(modelCfg.base(), DType.FLOAT32, cfg.run().seed());
        if (!cfg.model().init().isEmpty())
            ModelFiles.loadInit(jsc.hadoopConfiguration(), cfg.model().init(), reference.parameters(), "dpo reference");
        else
            System.err.println("dpo: model.init is empty, so the reference is the random init of run.seed; DPO normally starts from an SFT model");
        Broadcast<ModelBytes> ref = jsc.broadcast(ModelBytes.of(reference));
        int micro = cfg.train().microBatch();
        JavaRDD<DpoPair> trainPairs = withReference(train.good(), ref, micro).persist(StorageLevel.MEMORY_AND_DISK());
        List<DpoPair> evalPairs = withReference(eval.good(), ref, micro).collect();
        long pairCount = trainPairs.count();
        ref.unpersist(false);

        Map<String, Object> counts = new LinkedHashMap<>();
        train.counts().addTo(counts, "");
        eval.counts().addTo(counts, "eval_");
        counts.put("pairs", pairCount);
        counts.put("eval_pairs", evalPairs.size());
        DpoObjective objective = new DpoObjective(cfg.dpo().settings());
        List<int[]> klPrompts = klPrompts(evalPairs, cfg.dpo().klSamples(), modelCfg.contextLength() - cfg.dpo().klMaxNewTokens());
        Tokenizer tok = Tokenizers.create(cfg.model().tokenizer());
        SamplingConfig klSampling = SamplingConfig.of(1.0, cfg.dpo().klMaxNewTokens(), tok.eosToken());

        TrainingLoop.Hooks hooks = new TrainingLoop.Hooks() {
            /** KL(policy || reference) per response, from the policy's own samples of held-out prompts (NaN when not measured). */
            private double klToReference(Gpt model) {
                return SequenceKl.sampled(model, reference, klPrompts, klSampling, tok.padToken(), cfg.run().seed(), micro);
            }

            @Override
            public Double evaluate(Gpt model, long step, ObjectNode row) throws IOException {
                if (evalPairs.isEmpty()) return null;
                double[] margins = new double[evalPairs.size()];
                var stats = objective.evaluate(model, evalPairs, micro, margins); // one pass: loss, accuracy and margins
                double meanMargin = 0;
                for (double m : margins) meanMargin += m / margins.length;
                ObjectNode e = JSON.createObjectNode();
                e.put("step", step);
                e.put("pairs", evalPairs.size());
                e.put("accuracy", stats.correct() / stats.count());
                e.put("loss", stats.lossSum() / stats.count());
                e.put("reward_margin", meanMargin);
                double kl = klToReference(model);
                if (!Double.isNaN(kl)) {
                    e.put("kl_to_reference", kl);
                    row.put("eval_kl_to_reference", kl);
                }
                try (OutputStream out = fs.create(new Path(runDir, "eval/dpo-step-" + step + ".json"), true)) {
                    out.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(e));
                }
                row.put("eval_accuracy", e.get("accuracy").asDouble());
                row.put("eval_loss", e.get("loss").asDouble());
                row.put("eval_reward_margin", meanMargin);
                return e.get("accuracy").asDouble();
            }
        };
        return TrainingLoop.run(spark, cfg, dir, round, modelCfg, objective, trainPairs, "dpo", counts, listener, hooks);
    }

    /**
     * {@code samples} prompts for the KL measurement: the held-out pairs' distinct prompts that leave
     * room for the sampled tokens, in turn (a ranking's pairs share their prompt); none without any.
     */
    private static List<int[]> klPrompts(List<DpoPair> pairs, int samples, int maxPromptLength) {
        java.util.Set<String> seen = new java.util.HashSet<>();
        List<int[]> distinct = new ArrayList<>();
        for (DpoPair p : pairs) {
            int[] prompt = java.util.Arrays.copyOf(p.chosen(), p.promptLength());
            if (prompt.length <= maxPromptLength && seen.add(java.util.Arrays.toString(prompt))) distinct.add(prompt);
        }
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < samples && !distinct.isEmpty(); i++) out.add(distinct.get(i % distinct.size()));
        return out;
    }
    /** Each group's pairs, with the reference's log-probabilities added on the executors (one forward pass per response). */
    private static JavaRDD<DpoPair> withReference(JavaRDD<List<DpoPair>> groups, Broadcast<ModelBytes> ref, int microBatch) {
        return groups.mapPartitions(it -> {
            TaskSetup.begin(1);
            Gpt reference = ref.value().model();
            List<DpoPair> raw = new ArrayList<>();
            it.forEachRemaining(raw::addAll);
            double[][] lp = DpoObjective.referenceLogProbs(reference, raw, microBatch);
            List<DpoPair> out = new ArrayList<>(raw.size());
            for (int i = 0; i < raw.size(); i++) out.add(raw.get(i).withReference(lp[i][0], lp[i][1]));
            return out.iterator();
        });
    }

    /** Preference records as DPO pairs: every pair of a ranking, each sequence prompt + response + EOS. */
    private static JavaRDD<Parsed<List<DpoPair>>> parse(JobConfig cfg, JavaRDD<SourceLine> lines) {
        int maxChars = cfg.data().maxChars(), ctx = cfg.model().contextLength();
        String tokSpec = cfg.model().tokenizer();
        return lines.mapPartitions(it -> {
            Tokenizer tok = Tokenizers.create(tokSpec);
            List<Parsed<List<DpoPair>>> out = new ArrayList<>();
            it.forEachRemaining((SourceLine l) -> {
                Parsed<PreferenceRecords.Prompted> g = PreferenceRecords.parsePrompted(l, maxChars, tok, ctx);
                if (!g.isOk()) {
                    out.add(Parsed.bad(g.reason(), l));
                    return;
                }
                PreferenceGroup pg = g.value().group();
                List<DpoPair> pairs = new ArrayList<>();
                for (int i = 0; i < pg.pairs(); i++)
                    pairs.add(new DpoPair(pg.sequences()[pg.chosen()[i]], pg.sequences()[pg.rejected()[i]], g.value().promptLength(), 0, 0));
                out.add(Parsed.ok(pairs, l));
            });
            return out.iterator();
        });
    }
}
