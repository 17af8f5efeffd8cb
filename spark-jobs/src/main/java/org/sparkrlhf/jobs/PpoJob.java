package org.sparkrlhf.jobs;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.sparkrlhf.cli.Version;
import org.sparkrlhf.config.ConfigException;
import org.sparkrlhf.config.JobConfig;
import org.sparkrlhf.data.Parsed;
import org.sparkrlhf.data.PromptRecords;
import org.sparkrlhf.data.Quarantine;
import org.sparkrlhf.data.RecordFiles;
import org.sparkrlhf.data.TextRecords;
import org.sparkrlhf.data.TokenBlocks;
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
import org.sparkrlhf.rl.PromptSet;
import org.sparkrlhf.rl.RewardFunction;
import org.sparkrlhf.rl.SafetyConstraint;
import org.sparkrlhf.rundir.RunDirectory;
import org.sparkrlhf.sampling.SamplingConfig;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tokenizer.Tokenizer;
import org.sparkrlhf.tokenizer.Tokenizers;
import org.sparkrlhf.training.LmExample;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * PPO against a reward model (or a known reward function), with a KL penalty to the starting
 * policy: this job loads the models and the prompts, and the driver loop every job shares
 * ({@link TrainingLoop}, with {@link PpoLearner}) runs the iterations. {@code ppo.advantage}
 * chooses PPO's critic and GAE, or the critic-free GRPO or RLOO on the same engine.
 */
@Command(name = "ppo", mixinStandardHelpOptions = true, versionProvider = Version.class, description = "Align a policy with PPO against a reward model.")
public final class PpoJob extends JobCommand {
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
        if (!p.safety().equals("none")) ModelFiles.requireExists(hadoop, "ppo.harmlessness", p.harmlessness());
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
        return RunDirectory.within(cfg, "ppo", spark.sparkContext().hadoopConfiguration(), dir -> train(spark, cfg, dir, listener));
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
        if (tok.vocabSize() > policy.config().vocabSize())
            throw new ConfigException("model.tokenizer '" + cfg.model().tokenizer() + "' has " + tok.vocabSize() + " tokens, more than the policy's vocabulary of "
                    + policy.config().vocabSize() + " (ppo.policyInit " + p.policyInit() + "); use the tokenizer the policy was trained with"
                    + (p.policyInit().startsWith(ModelFiles.HF) ? " (model.tokenizer=" + p.policyInit() + "/tokenizer.json)" : ""));
        if (cfg.model().lora().rank() > 0) { // adapters on the given policy; its base, frozen, is the reference (no second copy)
            Gpt adapted = Gpt.init(policy.config().withLora(cfg.lora()), DType.FLOAT32, cfg.run().seed());
            adapted.parameters().copySharedFrom(policy.parameters());
            policy = adapted;
        }
        Gpt reference = policy.config().lora() != null ? policy.base() : policy.frozenCopy();
        Gpt rewardModel = null;
        RewardFunction scripted = null;
        ExperienceMaker.ScoreNorm norm = new ExperienceMaker.ScoreNorm(0, 1);
        if (p.reward().startsWith("token-frequency:")) {
            scripted = RewardFunction.tokenFrequency(Integer.parseInt(p.reward().substring("token-frequency:".length())));
        } else {
            rewardModel = ModelFiles.rewardModel(hadoop, p.reward());
            norm = ModelFiles.rewardNorm(hadoop, p.reward());
        }
        Gpt critic = null; // GRPO and RLOO load and train none
        if (cfg.advantage().needsCritic()) {
            critic = Gpt.init(policy.config().withHeads(Head.VALUE), DType.FLOAT32, cfg.run().seed() + 1);
            Gpt criticSource = p.criticInit().equals("reward") && rewardModel != null ? rewardModel : policy;
            if (critic.parameters().copySharedFrom(criticSource.parameters()) == 0)
                throw new ConfigException("ppo.criticInit = " + p.criticInit() + ": that model shares no tensors with the policy's shape; use ppo.criticInit=policy");
        }

        int maxPrompt = policy.config().contextLength() - p.maxNewTokens(), maxChars = cfg.data().maxChars();
        if (maxPrompt < 1)
            throw new ConfigException("ppo.maxNewTokens (" + p.maxNewTokens() + ") must be below the policy's context length (" + policy.config().contextLength() + ")");
        String tokSpec = cfg.model().tokenizer();
        JavaRDD<Parsed<PromptRecords.Prompt>> parsed = RecordFiles.read(spark, p.prompts(), cfg.data().format(), "ppo.prompts").mapPartitions(it -> {
            Tokenizer t = Tokenizers.create(tokSpec);
            List<Parsed<PromptRecords.Prompt>> out = new ArrayList<>();
            it.forEachRemaining(l -> out.add(PromptRecords.parse(l, maxChars, t, maxPrompt)));
            return out.iterator();
        });
        Quarantine.Result<PromptRecords.Prompt> prompts = Quarantine.apply(parsed, fs, runDir, "prompts", cfg.data().maxBadFraction());
        ShardedData<int[]> data = ShardedData.of(prompts.good().map(PromptRecords.Prompt::ids), cfg.train().partitions());

        AdamW.Config pc = new AdamW.Config(LrSchedule.constant(p.policyLr()), 0.9, 0.95, 1e-8, 0.0, cfg.train().maxGradNorm());
        AdamW.Config cc = new AdamW.Config(LrSchedule.constant(p.criticLr()), 0.9, 0.95, 1e-8, 0.0, cfg.train().maxGradNorm());
        AdamW policyOpt = new AdamW(pc, policy.trainable().layout(), DType.FLOAT32);
        AdamW criticOpt = critic == null ? null : new AdamW(cc, critic.trainable().layout(), DType.FLOAT32);
        KlController kl = p.klController();
        PpoSettings settings = new PpoSettings(p.gamma(), p.lambda(), p.clip(), p.valueClip(), p.entropyCoef(), 1.0,
                KlEstimator.valueOf(p.klEstimator().toUpperCase()), p.scoreClip(), p.missingEosPenalty());
        SamplingConfig sampling = new SamplingConfig(p.temperature(), p.topK(), p.topP(), p.maxNewTokens(), new int[]{tok.eosToken()}, false);

        PpoTrainer trainer = new PpoTrainer(jsc, new PpoTrainer.Models(policy, critic, reference, rewardModel, scripted),
                new PpoTrainer.Optimizers(policyOpt, criticOpt, kl),
                new PpoTrainer.Settings(new ExperienceMaker.Settings(sampling, tok.padToken(), tok.eosToken(), norm, settings, cfg.train().microBatch()),
                        p.promptsPerIteration(), p.epochs(), p.minibatches(), cfg.ppoSeed(), cfg.train().maxBadSteps(),
                        TrainingLoop.stageSettings(spark, cfg), cfg.advantage(), cfg.samplesPerPrompt(), p.maxUpdateKl()), data);
        SafetyConstraint safety = p.safetySettings() == null ? null : new SafetyConstraint(p.safetySettings());
        if (safety != null) { // Safe RLHF: the cost is the harmlessness model's score, negated (or a scripted cost in tests)
            PromptSet harmful = null;
            if (safety.settings().limitsHarmful()) { // the prompts whose answers have a limit of their own
                harmful = new PromptSet(prompts.good().filter(PromptRecords.Prompt::harmful).map(PromptRecords.Prompt::ids).collect());
                if (harmful.size() == 0)
                    throw new ConfigException("ppo.harmfulCostLimit is set but no prompt in ppo.prompts (" + p.prompts()
                            + ") is marked \"harmful\": true; mark the red-team prompts or drop ppo.harmfulCostLimit");
            }
            if (p.harmlessness().startsWith("token-frequency:"))
                trainer.withSafetyConstraint(null, RewardFunction.tokenFrequency(Integer.parseInt(p.harmlessness().substring("token-frequency:".length()))),
                        new ExperienceMaker.ScoreNorm(0, 1), safety, harmful);
            else trainer.withSafetyConstraint(ModelFiles.rewardModel(hadoop, p.harmlessness()), null, ModelFiles.rewardNorm(hadoop, p.harmlessness()), safety,
                    harmful);
        }
        ShardedData<LmExample> ptxData = null;
        if (p.ptxCoef() > 0) {
            Quarantine.Result<String> texts = Quarantine.apply(RecordFiles.read(spark, p.ptxData(), cfg.data().format(), "ppo.ptxData")
                    .map(l -> TextRecords.parse(l, maxChars)), fs, runDir, "ptx", cfg.data().maxBadFraction());
            ptxData = ShardedData.of(TokenBlocks.of(texts.good(), tokSpec, policy.config().contextLength() - 1), cfg.train().partitions());
            trainer.withPretrainingMix(ptxData, p.ptxCoef(), p.ptxPerMinibatch());
        }
        ShardedData<LmExample> mix = ptxData;
        PpoLearner learner = new PpoLearner(new PpoLearner.Parts(trainer, policy, critic, policyOpt, criticOpt, kl, safety), norm, tok, prompts.counts(), cfg, fs,
                () -> {
                    data.release();
                    if (mix != null) mix.release();
                });
        return TrainingLoop.drive(spark, cfg, dir, "ppo", learner, dir.resumeFrom(), p.iterations(), listener == null ? null : listener::after,
                TrainingLoop.NO_HOOKS);
    }
}
