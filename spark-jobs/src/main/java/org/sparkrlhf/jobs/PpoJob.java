package org.sparkrlhf.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.sparkrlhf.checkpoint.CheckpointStore;
import org.sparkrlhf.checkpoint.GptWeights;
import org.sparkrlhf.checkpoint.OptimizerStateIO;
import org.sparkrlhf.cli.Version;
import org.sparkrlhf.config.ConfigException;
import org.sparkrlhf.config.JobConfig;
import org.sparkrlhf.data.Parsed;
import org.sparkrlhf.data.PromptRecords;
import org.sparkrlhf.data.Quarantine;
import org.sparkrlhf.data.RecordFiles;
import org.sparkrlhf.engine.PpoTrainer;
import org.sparkrlhf.engine.ShardedData;
import org.sparkrlhf.engine.SparkDefaults;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.Head;
import org.sparkrlhf.optim.AdamW;
import org.sparkrlhf.optim.LrSchedule;
import org.sparkrlhf.rl.ExperienceMaker;
import org.sparkrlhf.rl.KlController;
import org.sparkrlhf.rl.KlEstimator;
import org.sparkrlhf.rl.PpoSettings;
import org.sparkrlhf.rl.RewardFunction;
import org.sparkrlhf.rundir.RunDirectory;
import org.sparkrlhf.sampling.SamplingConfig;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tokenizer.Tokenizer;
import org.sparkrlhf.tokenizer.Tokenizers;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * PPO against a reward model (or a known reward function), with a KL penalty to the starting
 * policy. Writes per-iteration metrics, sampled responses with their scores, and checkpoints that
 * hold both models, both optimizers and the KL controller, so a resumed run continues exactly.
 */
@Command(name = "ppo", mixinStandardHelpOptions = true, versionProvider = Version.class, description = "Align a policy with PPO against a reward model.")
public final class PpoJob extends JobCommand {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Rollouts per iteration recorded in samples.jsonl. */
    private static final int SAMPLES_PER_ITERATION = 8;

    public static void main(String[] args) {
        SparkDefaults.exit(new CommandLine(new PpoJob()).execute(args));
    }

    @Override
    protected JobConfig validate(JobConfig cfg) {
        return cfg.validatePpo();
    }

    @Override
    protected void checkInputs(JobConfig cfg, Configuration hadoop) throws IOException {
        JobConfig.Ppo p = cfg.ppo();
        RecordFiles.snapshot(hadoop, p.prompts(), "ppo.prompts");
        if (p.ptxCoef() > 0) RecordFiles.snapshot(hadoop, p.ptxData(), "ppo.ptxData");
        ModelFiles.requireExists(hadoop, "ppo.policyInit", p.policyInit());
        ModelFiles.requireExists(hadoop, "ppo.reward", p.reward());
    }

    @Override
    protected TrainingLoop.Outcome run(SparkSession spark, JobConfig cfg) throws Exception {
        return train(spark, cfg, null);
    }

    /** Called after every iteration (tests interrupt with it). */
    public interface IterationListener {
        void after(PpoTrainer.Report report);
    }

    public static TrainingLoop.Outcome train(SparkSession spark, JobConfig cfg, IterationListener listener) throws Exception {
        cfg.validatePpo();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        try (RunDirectory dir = RunDirectory.claim(cfg, "ppo", jsc.hadoopConfiguration())) {
            return train(spark, cfg, dir, listener);
        }
    }

    private static TrainingLoop.Outcome train(SparkSession spark, JobConfig cfg, RunDirectory dir, IterationListener listener) throws Exception {
        JobConfig.Ppo p = cfg.ppo();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Configuration hadoop = jsc.hadoopConfiguration();
        Path runDir = new Path(cfg.run().dir());
        FileSystem fs = cfg.runFileSystem(hadoop);
        Tokenizer tok = Tokenizers.create(cfg.model().tokenizer());

        // models: the policy (and its frozen copy, the reference), the reward, the critic
        Gpt policy = p.policyInit().isEmpty() ? Gpt.init(cfg.gptConfig(), DType.FLOAT32, cfg.run().seed())
                : ModelFiles.load(hadoop, "ppo.policyInit", p.policyInit());
        Gpt reference = policy.frozenCopy();
        Gpt rewardModel = null;
        RewardFunction scripted = null;
        ExperienceMaker.ScoreNorm norm = new ExperienceMaker.ScoreNorm(0, 1);
        if (p.reward().startsWith("token-frequency:")) {
            scripted = RewardFunction.tokenFrequency(Integer.parseInt(p.reward().substring("token-frequency:".length())));
        } else {
            rewardModel = ModelFiles.rewardModel(hadoop, p.reward());
            norm = ModelFiles.rewardNorm(hadoop, p.reward());
        }
        Gpt critic = Gpt.init(policy.config().withHeads(Head.VALUE), DType.FLOAT32, cfg.run().seed() + 1);
        Gpt criticSource = p.criticInit().equals("reward") && rewardModel != null ? rewardModel : policy;
        if (critic.parameters().copySharedFrom(criticSource.parameters()) == 0)
            throw new ConfigException("ppo.criticInit = " + p.criticInit() + ": that model shares no tensors with the policy's shape; use ppo.criticInit=policy");

        int maxPrompt = policy.config().contextLength() - p.maxNewTokens(), maxChars = cfg.data().maxChars();
        if (maxPrompt < 1)
            throw new ConfigException("ppo.maxNewTokens (" + p.maxNewTokens() + ") must be below the policy's context length (" + policy.config().contextLength() + ")");
        String tokSpec = cfg.model().tokenizer();
        JavaRDD<Parsed<int[]>> parsed = RecordFiles.read(spark, p.prompts(), cfg.data().format(), "ppo.prompts").mapPartitions(it -> {
            Tokenizer t = Tokenizers.create(tokSpec);
            List<Parsed<int[]>> out = new ArrayList<>();
            it.forEachRemaining(l -> out.add(PromptRecords.parse(l, maxChars, t, maxPrompt)));
            return out.iterator();
        });
        Quarantine.Result<int[]> prompts = Quarantine.apply(parsed, fs, runDir, "prompts", cfg.data().maxBadFraction());
        ShardedData<int[]> data = ShardedData.of(prompts.good(), cfg.train().partitions());

        AdamW.Config pc = new AdamW.Config(LrSchedule.constant(p.policyLr()), 0.9, 0.95, 1e-8, 0.0, cfg.train().maxGradNorm());
        AdamW.Config cc = new AdamW.Config(LrSchedule.constant(p.criticLr()), 0.9, 0.95, 1e-8, 0.0, cfg.train().maxGradNorm());
        AdamW policyOpt = new AdamW(pc, policy.parameters().layout(), DType.FLOAT32), criticOpt = new AdamW(cc, critic.parameters().layout(), DType.FLOAT32);
        KlController kl = p.klMode().equals("adaptive") ? KlController.adaptive(p.klBeta(), p.klTarget(), p.klHorizon()) : KlController.fixed(p.klBeta());
        PpoSettings settings = new PpoSettings(p.gamma(), p.lambda(), p.clip(), p.valueClip(), p.entropyCoef(), 1.0,
                KlEstimator.valueOf(p.klEstimator().toUpperCase()), p.scoreClip(), p.missingEosPenalty());
        SamplingConfig sampling = new SamplingConfig(p.temperature(), p.topK(), p.topP(), p.maxNewTokens(), new int[]{tok.eosToken()}, false);

        CheckpointStore store = new CheckpointStore(fs, runDir, cfg.train().keepLast(), true);
        long startIteration = 0, skippedUpdates = 0, badInARow = 0;
        Optional<CheckpointStore.Checkpoint> ckpt = dir.resumeFrom();
        if (ckpt.isPresent()) {
            CheckpointStore.Checkpoint c = ckpt.get();
            policy.parameters().flat().copyFrom(c.read("policy.safetensors", (in, src) -> GptWeights.read(in, src, policy.config(), DType.FLOAT32)).flat());
            critic.parameters().flat().copyFrom(c.read("critic.safetensors", (in, src) -> GptWeights.read(in, src, critic.config(), DType.FLOAT32)).flat());
            c.read("policy_optimizer.safetensors", (in, src) -> {
                OptimizerStateIO.read(in, src, policyOpt);
                return null;
            });
            c.read("critic_optimizer.safetensors", (in, src) -> {
                OptimizerStateIO.read(in, src, criticOpt);
                return null;
            });
            JsonNode state = c.read("state.json", (in, src) -> JSON.readTree(in));
            kl.restore(state.get("beta").asDouble());
            startIteration = state.get("iteration").asLong();
            skippedUpdates = state.path("skippedUpdates").asLong();
            badInARow = state.path("badInARow").asLong();
            System.err.printf("ppo: resuming from %s (iteration %d)%n", c.dir(), startIteration);
        }
        PpoTrainer trainer = new PpoTrainer(jsc, new PpoTrainer.Models(policy, critic, reference, rewardModel, scripted),
                new PpoTrainer.Optimizers(policyOpt, criticOpt, kl),
                new PpoTrainer.Settings(new ExperienceMaker.Settings(sampling, tok.padToken(), tok.eosToken(), norm, settings, cfg.train().microBatch()),
                        p.promptsPerIteration(), p.epochs(), p.minibatches(), cfg.run().seed(), cfg.train().maxBadSteps(),
                        TrainingLoop.stageSettings(spark, cfg)), data);
        trainer.restore(startIteration, skippedUpdates, badInARow);
        ShardedData<org.sparkrlhf.training.LmExample> ptxData = null;
        if (p.ptxCoef() > 0) {
            Quarantine.Result<String> texts = Quarantine.apply(RecordFiles.read(spark, p.ptxData(), cfg.data().format(), "ppo.ptxData")
                    .map(l -> org.sparkrlhf.data.TextRecords.parse(l, maxChars)), fs, runDir, "ptx", cfg.data().maxBadFraction());
            ptxData = ShardedData.of(org.sparkrlhf.data.TokenBlocks.of(texts.good(), tokSpec, policy.config().contextLength() - 1),
                    cfg.train().partitions());
            trainer.withPretrainingMix(ptxData, p.ptxCoef(), p.ptxPerMinibatch());
        }

        TrainingLoop.writeConfig(fs, runDir, cfg, policy.config());
        MetricsLog metrics = new MetricsLog(fs, runDir, "ppo", startIteration);
        SamplesLog samples = new SamplesLog(fs, runDir, startIteration);
        Progress progress = new Progress(startIteration, p.iterations());
        PpoTrainer.Report last = null;
        try {
            while (trainer.iteration() < p.iterations()) {
                last = trainer.runIteration();
                ObjectNode row = metrics.newRow();
                row.put("step", last.iteration());
                row.put("score_mean", last.scoreMean());
                row.put("kl", last.klMean());
                row.put("beta", last.beta());
                row.put("entropy", last.entropy());
                row.put("policy_loss", last.policyLoss());
                row.put("value_loss", last.valueLoss());
                row.put("approx_kl", last.approxKl());
                row.put("clip_fraction", last.clipFraction());
                row.put("ratio_mean", last.ratioMean());
                row.put("ratio_max", last.ratioMax());
                row.put("value_explained_variance", last.valueExplainedVariance());
                row.put("response_length", last.responseLength());
                row.put("eos_rate", last.eosRate());
                row.put("tokens_per_s", last.tokens() / last.iterationSeconds());
                row.put("sampling_seconds", last.samplingSeconds());
                row.put("scoring_seconds", last.scoringSeconds());
                row.put("training_seconds", last.trainingSeconds());
                row.put("overhead_seconds", last.overheadSeconds());
                row.put("iteration_seconds", last.iterationSeconds());
                row.put("skipped_updates", last.skippedUpdates());
                row.put("skipped_updates_total", trainer.skippedUpdates());
                if (!Double.isNaN(last.ptxLoss())) row.put("ptx_loss", last.ptxLoss());
                if (last.iteration() == 1) {
                    row.put("data_prompts", prompts.counts().total());
                    row.put("data_bad_prompts", prompts.counts().bad());
                }
                int stride = Math.max(1, last.samples().size() / SAMPLES_PER_ITERATION); // spread over partitions
                for (int i = 0; i < last.samples().size(); i += stride) samples.add(last.iteration(), tok, last.samples().get(i));
                if (listener != null) listener.after(last);
                if (last.iteration() % cfg.train().logEvery() == 0 || last.iteration() == p.iterations())
                    System.err.println(progress.line("ppo", last.iteration(), "score", last.scoreMean(), last.tokens() / last.iterationSeconds())
                            + String.format("  KL %.2f  beta %.3f", last.klMean(), last.beta()));
                if (last.iteration() % cfg.train().checkpointEvery() == 0 || last.iteration() == p.iterations()) {
                    dir.checkHeld(); // another run took the directory over: write nothing more
                    metrics.flush();
                    samples.flush();
                    save(store, policy, critic, policyOpt, criticOpt, kl, trainer, norm, cfg, last.iteration(), last.scoreMean());
                }
            }
        } finally {
            if (dir.holds()) {
                metrics.flush();
                samples.flush();
            }
            data.release();
            if (ptxData != null) ptxData.release();
        }
        metrics.writeParquet(spark);
        return new TrainingLoop.Outcome(trainer.iteration(), "score", last == null ? Double.NaN : last.scoreMean(), 0, runDir);
    }

    private static void save(CheckpointStore store, Gpt policy, Gpt critic, AdamW po, AdamW co, KlController kl, PpoTrainer trainer,
                             ExperienceMaker.ScoreNorm norm, JobConfig cfg,
                             long iteration, double score) throws IOException {
        Map<String, CheckpointStore.FileWriter> files = new LinkedHashMap<>();
        files.put("policy.safetensors", out -> GptWeights.write(out, policy.config(), policy.parameters()));
        files.put("critic.safetensors", out -> GptWeights.write(out, critic.config(), critic.parameters()));
        files.put("policy_optimizer.safetensors", out -> OptimizerStateIO.write(out, po));
        files.put("critic_optimizer.safetensors", out -> OptimizerStateIO.write(out, co));
        ObjectNode state = JSON.createObjectNode();
        state.put("iteration", iteration);
        state.put("beta", kl.beta());
        state.put("skippedUpdates", trainer.skippedUpdates());
        state.put("badInARow", trainer.badInARow());
        state.put("seed", cfg.run().seed());
        state.put("promptCursor", iteration); // prompts of iteration i are fixed by (seed, i)
        state.put("rngStreams", "sequence seeds derive from (seed, iteration, partition, index); minibatch order from (seed, iteration, epoch, partition)");
        state.put("rewardNormMean", norm.mean());
        state.put("rewardNormStd", norm.std());
        files.put("state.json", out -> out.write(JSON.writeValueAsBytes(state)));
        files.put("config.json", out -> out.write(JSON.writeValueAsBytes(cfg)));
        store.save(iteration, files, null);
    }

    /** Sampled responses with their scores, one JSON line each, in {@code RUN/samples.jsonl}. */
    static final class SamplesLog {
        private final FileSystem fs;
        private final Path file;
        private final List<String> lines = new ArrayList<>();

        SamplesLog(FileSystem fs, Path runDir, long resumeIteration) throws IOException {
            this.fs = fs;
            this.file = new Path(runDir, "samples.jsonl");
            if (resumeIteration > 0 && fs.exists(file)) {
                String text;
                try (InputStream in = fs.open(file)) {
                    text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                }
                for (String l : text.split("\n"))
                    if (!l.isBlank() && JSON.readTree(l).path("iteration").asLong() <= resumeIteration) lines.add(l);
            }
        }

        void add(long iteration, Tokenizer tok, PpoTrainer.Sample s) throws IOException {
            ObjectNode o = JSON.createObjectNode();
            o.put("stage", "ppo");
            o.put("iteration", iteration);
            o.put("prompt", tok.decode(s.prompt()));
            o.put("response", tok.decode(s.response()));
            o.put("proxy", s.score());
            lines.add(JSON.writeValueAsString(o));
        }

        void flush() throws IOException {
            try (OutputStream out = fs.create(file, true)) {
                for (String l : lines) out.write((l + "\n").getBytes(StandardCharsets.UTF_8));
            }
        }
    }
}
