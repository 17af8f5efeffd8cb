package org.sparkrlhf.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.sparkrlhf.checkpoint.CheckpointStore;
import org.sparkrlhf.config.DemoConfig;
import org.sparkrlhf.config.JobConfig;
import org.sparkrlhf.data.ChatTemplate;
import org.sparkrlhf.data.JsonLines;
import org.sparkrlhf.jobs.DpoJob;
import org.sparkrlhf.jobs.ModelFiles;
import org.sparkrlhf.jobs.PpoJob;
import org.sparkrlhf.jobs.SftJob;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.preference.Panel;
import org.sparkrlhf.sampling.SamplingConfig;
import org.sparkrlhf.tokenizer.Tokenizer;

/**
 * One alignment method in the demo: trained from the SFT model against the reward model (or, for
 * DPO, on the rankings the reward model learnt from), then evaluated on the held-out prompts with
 * the gold reward. On the way it records gold and proxy reward against KL to the SFT model: each
 * iteration's rollouts for the online methods, each checkpoint or round for DPO and rejection
 * sampling (the over-optimization frontier).
 */
final class MethodRun {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * What every method starts from and how it is measured: the stage configs, the SFT and reward
     * models, the held-out prompts and their sampling, the training prompts (for rejection sampling),
     * and the rejection rounds' config maker (round, model.init) -> config.
     */
    record Shared(SparkSession spark, FileSystem fs, String out, Map<String, JobConfig> jobs, Gpt sft, Gpt rewardModel, Tokenizer tok,
                  Panel panel, List<int[]> evalIds, List<String> trainPrompts, SamplingConfig sampling, int samplesPerPrompt, long seed,
                  int tasks, DemoConfig.Rejection rejection, java.util.function.BiFunction<Integer, String, JobConfig> rejectionRound) {
        JavaSparkContext jsc() {
            return JavaSparkContext.fromSparkContext(spark.sparkContext());
        }
    }

    /** A trained policy and the points on its way there. */
    record Trained(Gpt policy, List<ObjectNode> curve) {}

    /** A method's outcome: its final policy's gold evaluation, the points on its way, its training time. */
    record Result(Method method, ScoredSet scored, List<ObjectNode> curve, double trainingMinutes) {
        /** The largest KL of any training iteration; NaN without a training curve (an offline method). */
        double klMaxDuringTraining() {
            return curve.stream().mapToDouble(c -> c.get("kl").asDouble()).max().orElse(Double.NaN);
        }
    }

    private MethodRun() {}

    static Trained train(Method m, Shared s) throws Exception {
        return switch (m) {
            case PPO, GRPO, RLOO, SAFE, WEIGHTED -> online(m, s);
            case DPO -> dpo(s);
            case REJECTION -> rejection(s);
        };
    }

    /** The held-out prompts, the same seeds for every method (so differences are the methods', not the draws'). */
    static ScoredSet evaluate(Gpt policy, Shared s) {
        return ScoredSet.of(PolicyEvaluation.run(s.jsc(), s.evalIds(), s.samplesPerPrompt(), policy, s.sft(), s.rewardModel(), s.sampling(),
                s.tok().padToken(), s.seed() + 3, s.tasks()), s.tok(), s.panel());
    }

    /** PPO, GRPO or RLOO: the PPO job with its ppo.advantage; the curve from every iteration's rollouts. */
    private static Trained online(Method m, Shared s) throws Exception {
        GoldCurve curve = new GoldCurve(s.tok(), s.panel());
        PpoJob.train(s.spark(), s.jobs().get(m.id()), curve::add);
        return new Trained(latest(s, m.id(), "policy.safetensors"), curve.rows());
    }

    /** DPO on the feedback rankings; each checkpoint before the last evaluated on the held-out prompts. */
    private static Trained dpo(Shared s) throws Exception {
        JobConfig cfg = s.jobs().get("dpo");
        DpoJob.train(s.spark(), cfg, null);
        List<ObjectNode> curve = new ArrayList<>();
        CheckpointStore store = new CheckpointStore(s.fs(), new Path(cfg.run().dir()), 1, true);
        for (long step = cfg.train().checkpointEvery(); step < cfg.train().steps(); step += cfg.train().checkpointEvery()) {
            Path dir = new Path(new Path(cfg.run().dir(), "checkpoints"), CheckpointStore.dirName(step));
            if (!s.fs().exists(dir)) continue; // pruned (train.keepLast)
            Gpt policy = ModelFiles.load(s.fs().getConf(), "dpo checkpoint", store.verify(dir).dir() + "/weights.safetensors");
            curve.add(point(evaluate(policy, s), "step", step));
        }
        return new Trained(latest(s, "dpo", "weights.safetensors"), curve);
    }

    /**
     * Rejection sampling (best-of-n fine-tuning): each round samples n responses per training prompt
     * from the current model, keeps the one the reward model scores highest, and fine-tunes the
     * current model on those (the SFT job); every round but the last is evaluated on the way.
     */
    private static Trained rejection(Shared s) throws Exception {
        Gpt policy = s.sft();
        String init = s.jobs().get("rejection").model().init();
        List<ObjectNode> curve = new ArrayList<>();
        for (int round = 1; round <= s.rejection().rounds(); round++) {
            JobConfig cfg = s.rejectionRound().apply(round, init);
            int kept = keepBest(policy, s, round, cfg.data().train());
            System.err.printf("  round %d: kept the best of %d samples for %d prompts%n", round, s.rejection().samplesPerPrompt(), kept);
            SftJob.train(s.spark(), cfg, null);
            init = DemoPipeline.finalWeights(cfg);
            policy = ModelFiles.load(s.fs().getConf(), "rejection round " + round, init);
            if (round < s.rejection().rounds()) curve.add(point(evaluate(policy, s), "round", round));
        }
        return new Trained(policy, curve);
    }

    /** Samples round {@code round}'s prompts, keeps each prompt's best finished response by the reward model, writes them as SFT records. */
    private static int keepBest(Gpt policy, Shared s, int round, String file) throws IOException {
        List<String> all = s.trainPrompts();
        List<String> prompts = new ArrayList<>();
        for (int i = 0; i < s.rejection().prompts(); i++) prompts.add(all.get(((round - 1) * s.rejection().prompts() + i) % all.size())); // rounds take the next prompts
        List<int[]> ids = prompts.stream().map(p -> ChatTemplate.userPrompt(p, s.tok())).toList();
        SamplingConfig e = s.sampling();
        SamplingConfig candidates = new SamplingConfig(s.rejection().temperature(), e.topK(), e.topP(), e.maxNewTokens(), e.stopTokens(), false);
        List<PolicyEvaluation.Scored> scored = PolicyEvaluation.run(s.jsc(), ids, s.rejection().samplesPerPrompt(), policy, null, s.rewardModel(), candidates,
                s.tok().padToken(), s.seed() + 100 + round, s.tasks());
        List<String> lines = new ArrayList<>();
        for (int p = 0; p < prompts.size(); p++) {
            PolicyEvaluation.Scored best = null;
            for (PolicyEvaluation.Scored x : scored.subList(p * s.rejection().samplesPerPrompt(), (p + 1) * s.rejection().samplesPerPrompt()))
                if (ended(x.response(), s.tok()) && (best == null || x.proxy() > best.proxy())) best = x;
            if (best != null) lines.add(JSON.writeValueAsString(JSON.createObjectNode().put("prompt", prompts.get(p))
                    .put("response", ChatTemplate.responseText(s.tok(), best.response()))));
        }
        JsonLines.write(s.fs(), new Path(file), lines);
        return lines.size();
    }

    /**
     * Whether a response ended by itself (EOS) with some text: the SFT job ends every response it
     * trains on with EOS, so one cut off at the length limit would teach the model to stop there.
     */
    private static boolean ended(int[] response, Tokenizer tok) {
        return response.length > 1 && response[response.length - 1] == tok.eosToken() && !ChatTemplate.responseText(tok, response).isBlank();
    }

    /** A point of the frontier from an evaluation on the held-out prompts. */
    private static ObjectNode point(ScoredSet e, String unit, long at) {
        ObjectNode o = JSON.createObjectNode();
        o.put(unit, at);
        o.put("kl", e.klMean());
        o.put("proxy_mean", e.proxyMean());
        o.put("gold_mean", e.goldMean());
        o.put("source", "held-out evaluation");
        return o;
    }

    /** The newest valid checkpoint's model file of a method's run. */
    private static Gpt latest(Shared s, String stage, String file) throws IOException {
        CheckpointStore.Checkpoint c = new CheckpointStore(s.fs(), new Path(s.out(), stage), 1, true).latestValid()
                .orElseThrow(() -> new IOException("the " + stage + " stage left no valid checkpoint under " + s.out() + "/" + stage));
        return ModelFiles.load(s.fs().getConf(), stage + " policy", c.dir() + "/" + file);
    }
}
