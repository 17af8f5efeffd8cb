package org.sparkrlhf.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparkrlhf.checkpoint.CheckpointStore;
import org.sparkrlhf.checkpoint.OptimizerStateIO;
import org.sparkrlhf.config.JobConfig;
import org.sparkrlhf.data.JsonLines;
import org.sparkrlhf.data.Quarantine;
import org.sparkrlhf.engine.PpoTrainer;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.optim.AdamW;
import org.sparkrlhf.rl.ExperienceMaker;
import org.sparkrlhf.rl.KlController;
import org.sparkrlhf.rl.SafetyConstraint;
import org.sparkrlhf.tokenizer.Tokenizer;

/**
 * PPO as the driver loop sees it: one iteration per barrier stage ({@link PpoTrainer}), one
 * metrics row per iteration, a few of its rollouts in {@code samples.jsonl}, and checkpoints that
 * hold the policy and critic (none for GRPO and RLOO), their optimizers and the KL controller, so a
 * resumed run continues exactly.
 */
final class PpoLearner implements TrainingLoop.Learner<PpoTrainer.Report> {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Rollouts per iteration recorded in samples.jsonl. */
    private static final int SAMPLES_PER_ITERATION = 8;

    /** The trainer and what it trains: policy and critic (null for the critic-free methods) with their optimizers, the KL controller. */
    record Parts(PpoTrainer trainer, Gpt policy, Gpt critic, AdamW policyOpt, AdamW criticOpt, KlController kl, SafetyConstraint safety) {}

    private final Parts parts;
    private final PpoTrainer trainer;
    private final ExperienceMaker.ScoreNorm norm;
    private final Tokenizer tok;
    private final Quarantine.Counts promptCounts;
    private final Runnable release;
    private final FileSystem fs;
    private final Path runDir;
    private final JobConfig cfg;
    private SamplesLog samples;

    PpoLearner(Parts parts, ExperienceMaker.ScoreNorm norm, Tokenizer tok, Quarantine.Counts promptCounts, JobConfig cfg, FileSystem fs,
               Runnable release) throws IOException {
        this.parts = parts;
        this.trainer = parts.trainer();
        this.norm = norm;
        this.tok = tok;
        this.promptCounts = promptCounts;
        this.release = release;
        this.fs = fs;
        this.runDir = new Path(cfg.run().dir());
        this.cfg = cfg;
        this.samples = new SamplesLog(fs, runDir, 0);
    }

    @Override
    public String unit() {
        return "iteration";
    }

    @Override
    public String quantity() {
        return "score";
    }

    @Override
    public long done() {
        return trainer.iteration();
    }

    @Override
    public long stageEnd(long target, int checkpointEvery) {
        return done() + 1;
    }

    @Override
    public List<PpoTrainer.Report> runStage(long end, boolean checkpointAtEnd, Consumer<PpoTrainer.Report> live) {
        PpoTrainer.Report r = trainer.runIteration(checkpointAtEnd); // between checkpoints the models stay on the ranks
        live.accept(r);
        return List.of(r);
    }

    @Override
    public long unitOf(PpoTrainer.Report r) {
        return r.iteration();
    }

    @Override
    public double valueOf(PpoTrainer.Report r) {
        return r.scoreMean();
    }

    @Override
    public long skipped() {
        return trainer.skippedUpdates();
    }

    @Override
    public String progressLine(Progress progress, PpoTrainer.Report r) {
        return progress.line("ppo", r.iteration(), "score", r.scoreMean(), r.tokens() / r.iterationSeconds())
                + String.format("  KL %.2f  beta %.3f", r.klMean(), r.beta())
                + (r.safety() == null ? "" : String.format("  cost %.3f  lambda %.3f", r.safety().costMean(), r.safety().lambda()))
                + (r.safety() == null || !parts.safety().settings().limitsHarmful() ? ""
                        : String.format("  harmful cost %.3f  mu %.3f", r.safety().harmfulCostMean(), r.safety().harmfulLambda()));
    }

    @Override
    public void record(PpoTrainer.Report r, ObjectNode row) throws IOException {
        row.put("step", r.iteration());
        row.put("score_mean", r.scoreMean());
        row.put("kl", r.klMean());
        row.put("beta", r.beta());
        row.put("entropy", r.entropy());
        row.put("policy_loss", r.policyLoss());
        row.put("value_loss", r.valueLoss());
        row.put("approx_kl", r.approxKl());
        row.put("clip_fraction", r.clipFraction());
        row.put("updates", r.updates()); // epochs x minibatches, fewer after an early stop (ppo.maxUpdateKl)
        row.put("ratio_mean", r.ratioMean());
        row.put("ratio_max", r.ratioMax());
        row.put("value_explained_variance", r.valueExplainedVariance());
        row.put("response_length", r.responseLength());
        row.put("eos_rate", r.eosRate());
        row.put("tokens_per_s", r.tokens() / r.iterationSeconds());
        row.put("sampling_seconds", r.samplingSeconds());
        row.put("scoring_seconds", r.scoringSeconds());
        row.put("training_seconds", r.trainingSeconds());
        row.put("overhead_seconds", r.overheadSeconds());
        row.put("iteration_seconds", r.iterationSeconds());
        row.put("spark_overhead_fraction", r.overheadSeconds() / r.iterationSeconds());
        row.put("skipped_updates", r.skippedUpdates());
        row.put("skipped_updates_total", trainer.skippedUpdates());
        row.put("advantage", cfg.ppo().advantage());
        if (parts.critic() != null) { // what GRPO and RLOO would save: the critic's time, and its memory on every rank
            row.put("critic_seconds", r.criticSeconds());
            row.put("critic_bytes_per_rank", PpoTrainer.criticBytes(parts.critic().config()));
        } else {
            row.put("critic_bytes_saved_per_rank", PpoTrainer.criticBytes(parts.policy().config().withHeads(org.sparkrlhf.model.Head.VALUE)));
        }
        if (!Double.isNaN(r.ptxLoss())) row.put("ptx_loss", r.ptxLoss());
        if (r.safety() != null) { // Safe RLHF: the normalized reward and cost, and the lambda this iteration was scored with
            row.put("reward_mean", r.safety().rewardMean());
            row.put("cost_mean", r.safety().costMean());
            row.put("lambda", r.safety().lambda());
            row.put("cost_limit", cfg.ppo().costLimit());
            row.put("safety", cfg.ppo().safety());
            if (parts.safety().settings().limitsHarmful()) { // the harmful prompts' own limit and multiplier
                if (!Double.isNaN(r.safety().harmfulCostMean())) row.put("harmful_cost_mean", r.safety().harmfulCostMean());
                row.put("harmful_lambda", r.safety().harmfulLambda());
                row.put("harmful_cost_limit", cfg.ppo().harmfulCostLimit());
            }
        }
        if (r.iteration() == 1) {
            row.put("data_prompts", promptCounts.total());
            row.put("data_bad_prompts", promptCounts.bad());
        }
        int stride = Math.max(1, r.samples().size() / SAMPLES_PER_ITERATION); // spread over ranks
        for (int i = 0; i < r.samples().size(); i += stride) samples.add(r.iteration(), tok, r.samples().get(i));
    }

    @Override
    public void restore(CheckpointStore.Checkpoint c) throws IOException {
        Gpt policy = parts.policy(), critic = parts.critic();
        ModelFiles.restoreModel(c, "policy.safetensors", policy);
        c.read("policy_optimizer.safetensors", (in, src) -> {
            OptimizerStateIO.read(in, src, parts.policyOpt());
            return null;
        });
        if (critic != null) {
            ModelFiles.restoreModel(c, "critic.safetensors", critic);
            c.read("critic_optimizer.safetensors", (in, src) -> {
                OptimizerStateIO.read(in, src, parts.criticOpt());
                return null;
            });
        }
        JsonNode state = c.read("state.json", (in, src) -> JSON.readTree(in));
        parts.kl().restore(state.get("beta").asDouble());
        if (parts.safety() != null) // a checkpoint from before the proportional term kept lambda alone, which was its integral
            parts.safety().restore(state.get("lambda").asDouble(), state.path("lambdaIntegral").asDouble(state.get("lambda").asDouble()),
                    state.path("harmfulLambda").asDouble(0), state.path("harmfulLambdaIntegral").asDouble(0));
        long iteration = state.get("iteration").asLong();
        trainer.restore(iteration, state.path("skippedUpdates").asLong(), state.path("badInARow").asLong());
        samples = new SamplesLog(fs, runDir, iteration);
    }

    @Override
    public Map<String, CheckpointStore.FileWriter> checkpointFiles(ObjectNode state) {
        long iteration = done();
        state.put("iteration", iteration);
        state.put("beta", parts.kl().beta());
        if (parts.safety() != null) {
            state.put("lambda", parts.safety().lambda());
            state.put("lambdaIntegral", parts.safety().integral());
            state.put("harmfulLambda", parts.safety().harmfulLambda());
            state.put("harmfulLambdaIntegral", parts.safety().harmfulIntegral());
        }
        state.put("skippedUpdates", trainer.skippedUpdates());
        state.put("badInARow", trainer.badInARow());
        state.put("promptCursor", iteration); // prompts of iteration i are fixed by (seed, i)
        state.put("rngStreams", "sequence seeds derive from (seed, iteration, rank, index); minibatch order from (seed, iteration, epoch, rank)");
        state.put("rewardNormMean", norm.mean());
        state.put("rewardNormStd", norm.std());
        Map<String, CheckpointStore.FileWriter> files = new LinkedHashMap<>();
        files.put("policy.safetensors", out -> ModelFiles.writeModel(out, parts.policy(), policyBase()));
        files.put("policy_optimizer.safetensors", out -> OptimizerStateIO.write(out, parts.policyOpt()));
        if (parts.critic() != null) {
            files.put("critic.safetensors", out -> ModelFiles.writeModel(out, parts.critic(), criticBase()));
            files.put("critic_optimizer.safetensors", out -> OptimizerStateIO.write(out, parts.criticOpt()));
        }
        return files;
    }

    @Override
    public Gpt model() {
        return parts.policy();
    }

    /** Where the policy's frozen base comes from: ppo.policyInit, or the run seed's random init. */
    private String policyBase() {
        return cfg.ppo().policyInit().isEmpty() ? "seed:" + cfg.run().seed() : cfg.ppo().policyInit();
    }

    /** The critic's trunk: the reward model's (ppo.criticInit=reward), else the policy's base. */
    private String criticBase() {
        String reward = cfg.ppo().reward();
        if (cfg.ppo().criticInit().equals("reward") && !reward.startsWith("token-frequency:"))
            return reward.startsWith(ModelFiles.HF) ? reward : reward + "/weights.safetensors";
        return policyBase();
    }

    @Override
    public void flush() throws IOException {
        samples.flush();
    }

    @Override
    public void close() {
        release.run();
    }

    /** Sampled responses with their scores, one JSON line each, in {@code RUN/samples.jsonl}. */
    static final class SamplesLog {
        private final FileSystem fs;
        private final Path file;
        private final List<String> lines = new ArrayList<>();

        SamplesLog(FileSystem fs, Path runDir, long resumeIteration) throws IOException {
            this.fs = fs;
            this.file = new Path(runDir, "samples.jsonl");
            if (resumeIteration > 0 && fs.exists(file))
                for (String l : JsonLines.read(fs, file))
                    if (JSON.readTree(l).path("iteration").asLong() <= resumeIteration) lines.add(l);
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
            JsonLines.write(fs, file, lines);
        }
    }
}
