package org.sparkrlhf.engine;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.sparkrlhf.collective.Collective;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.optim.AdamW;
import org.sparkrlhf.rl.Advantage;
import org.sparkrlhf.rl.Experience;
import org.sparkrlhf.rl.ExperienceMaker;
import org.sparkrlhf.rl.KlController;
import org.sparkrlhf.rl.Moments;
import org.sparkrlhf.rl.PpoUpdate;
import org.sparkrlhf.rl.PromptSet;
import org.sparkrlhf.rl.ConstrainedReward;
import org.sparkrlhf.rl.RewardFunction;
import org.sparkrlhf.rl.SafetyConstraint;
import org.sparkrlhf.sampling.SeededPermutation;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.training.LanguageModelObjective;
import org.sparkrlhf.training.LmExample;
import org.sparkrlhf.training.StepStats;

/**
 * PPO on Spark, one barrier stage per iteration. Each task is a rank that keeps its share of the
 * prompts, replicas of the policy and critic with their AdamW optimizers, and the frozen reference
 * and reward models. In one stage every rank, as the algorithm reads:
 * <ol>
 *   <li>makes experience from its share of the iteration's prompts (fixed by seed and iteration):
 *       samples, scores, KL-shaped rewards, GAE; or, for the critic-free methods (GRPO, RLOO),
 *       K samples per prompt and their group advantages, with no critic anywhere;</li>
 *   <li>exchanges with the other ranks the advantage moments (whitening uses the whole batch's)
 *       and the token counts of every coming update;</li>
 *   <li>runs epochs x minibatches of updates: the gradients of its minibatch share, summed by the
 *       collective, applied by every rank to its replicas, which so stay identical bit for bit; a
 *       non-finite update is skipped by all;</li>
 *   <li>returns its rollouts and experience statistics, and rank 0 the models' new state.</li>
 * </ol>
 * The driver adapts the KL coefficient between iterations (and, under a safety constraint, lambda). Sequence seeds derive from (seed,
 * iteration, rank, index), so a stage run again regenerates the same rollouts.
 */
public final class PpoTrainer {

    /**
     * The models of a run: policy and critic (trained; no critic for GRPO and RLOO), the frozen
     * reference, and the reward (a model, or else a scripted function).
     */
    public record Models(Gpt policy, Gpt critic, Gpt reference, Gpt rewardModel, RewardFunction scripted) {}

    /** The optimizers for policy and critic (null without one; their replicas live on the ranks), and the driver's KL controller. */
    public record Optimizers(AdamW policy, AdamW critic, KlController kl) {}

    /**
     * An iteration's shape: how experience is made, prompts per iteration, epochs x minibatches of
     * updates, the seed, how many non-finite updates in a row are skipped before the run stops, how
     * stages run, where advantages come from, the samples per prompt ({@code groupSize}: 1 for
     * GAE, at least 2 for the group methods), and the early stop: once a minibatch measures more
     * than {@code maxUpdateKl} approximate KL per token from the policy that sampled the rollouts,
     * that update and the iteration's others are skipped (0: never).
     */
    public record Settings(ExperienceMaker.Settings experience, int promptsPerIteration, int epochs, int minibatches, long seed, int maxBadSteps,
                           StageSettings stages, Advantage advantage, int groupSize, double maxUpdateKl) implements Serializable {
        public Settings {
            if (advantage.needsCritic() ? groupSize != 1 : groupSize < 2)
                throw new IllegalArgumentException(advantage + " takes " + (advantage.needsCritic() ? "one sample" : "at least 2 samples")
                        + " per prompt, got " + groupSize);
            if (!(maxUpdateKl >= 0) || Double.isInfinite(maxUpdateKl))
                throw new IllegalArgumentException("ppo.maxUpdateKl must be >= 0 and finite (0: every update runs), got " + maxUpdateKl);
        }

        /** Every update runs. */
        public Settings(ExperienceMaker.Settings experience, int promptsPerIteration, int epochs, int minibatches, long seed, int maxBadSteps,
                        StageSettings stages, Advantage advantage, int groupSize) {
            this(experience, promptsPerIteration, epochs, minibatches, seed, maxBadSteps, stages, advantage, groupSize, 0);
        }

        /** PPO proper: a critic and GAE, one sample per prompt. */
        public Settings(ExperienceMaker.Settings experience, int promptsPerIteration, int epochs, int minibatches, long seed, int maxBadSteps,
                        StageSettings stages) {
            this(experience, promptsPerIteration, epochs, minibatches, seed, maxBadSteps, stages, Advantage.GAE, 1);
        }
    }

    /** A sampled response and its score, for the run's record. */
    public record Sample(int[] prompt, int[] response, double score) implements Serializable {}

    /**
     * Everything an iteration measured; {@code criticSeconds} is the critic's share of scoring and
     * training (the slowest rank's), what the critic-free methods save.
     */
    public record Report(long iteration, double scoreMean, double klMean, double beta, double responseLength, double eosRate,
                         double policyLoss, double valueLoss, double entropy, double approxKl, double clipFraction, double ratioMean,
                         double ratioMax, double valueExplainedVariance, double samplingSeconds, double scoringSeconds,
                         double trainingSeconds, double overheadSeconds, double iterationSeconds, double tokens,
                         double ptxLoss, int skippedUpdates, double criticSeconds, List<Sample> samples, Safety safety, int updates) {}

    /**
     * Under a safety constraint: the iteration's mean normalized reward and cost (of the helpfulness
     * and harm models) and the lambda its rollouts were scored with; with the harmful prompts told
     * apart, also their answers' mean cost (NaN when the batch had none) and their own multiplier
     * (0 without); null without a constraint.
     */
    public record Safety(double rewardMean, double costMean, double lambda, double harmfulCostMean, double harmfulLambda) implements Serializable {}

    /**
     * The cost side of a constrained run: a harmlessness model (its score negated is the cost) or a
     * scripted cost, their normalization, the driver's multipliers, and the harmful prompts (null:
     * none told apart).
     */
    record CostSource(Gpt harmlessness, RewardFunction scriptedCost, ExperienceMaker.ScoreNorm costNorm, SafetyConstraint constraint,
                      PromptSet harmful) {}

    /** What ranks need once per run: the frozen models, the settings, the pre-training mix. */
    record Static(String runId, GptConfig rewardCfg, byte[] reference, byte[] rewardModel, RewardFunction scripted, Settings settings,
                  int promptsPerRank, long promptEpochSteps, double ptxCoef, int ptxPerRank, long ptxEpochSteps, GptConfig harmlessnessCfg,
                  byte[] harmlessness, RewardFunction scriptedCost, ExperienceMaker.ScoreNorm costNorm, PromptSet harmfulPrompts) implements Serializable {
        boolean constrained() {
            return costNorm != null;
        }
    }

    /** The trained models (critic null without one) and counters at an iteration's start (and, from rank 0, at its end). */
    record Start(long iteration, ReplicaState policy, ReplicaState critic, long skippedUpdates, long badInARow) implements Serializable {}

    /** A rank's data: its prompts, and its pre-training sequences (null without PPO-ptx). */
    record Shard(ExampleBlock<int[]> prompts, ExampleBlock<LmExample> ptx) implements Serializable {}

    /** One rank's experience statistics and rollouts. */
    record ExperienceStats(Moments advantages, Moments returns, Moments residuals, double scoreSum, double klSum, double lengthSum,
                           double eosCount, double count, long samplingNanos, long scoringNanos, long criticNanos, List<Sample> samples,
                           double rewardSum, double costSum, double harmfulCostSum, double harmfulCount) implements Serializable {
        double costMean() {
            return costSum / count;
        }

        /** The harmful prompts' mean cost; not a number in a batch without them (their multiplier then stays as it is). */
        double harmfulCostMean() {
            return harmfulCount > 0 ? harmfulCostSum / harmfulCount : Double.NaN;
        }
    }

    /**
     * What an iteration's updates measured, summed over ranks (every rank holds the same sums; rank 0
     * returns them), and how many updates ran (fewer than epochs x minibatches after an early stop).
     */
    record Learning(PpoUpdate.Stats total, long trainingNanos, long criticNanos, double ptxLossSum, int ptxUpdates, int skipped, int updates)
            implements Serializable {}

    /**
     * A rank's result: its digest, its experience, its skip counters; from rank 0 the learning and,
     * when asked for, the end state (null elsewhere, or when the run diverged).
     */
    record Result(int rank, String parameterDigest, ExperienceStats experience, Start end, Learning learning, long skippedUpdates, long badInARow,
                  String diverged) implements RankResult {}

    private final JavaSparkContext jsc;
    private final Gpt policy, critic;
    private final AdamW policyOpt, criticOpt;
    private final KlController kl;
    private final ShardedData<int[]> prompts;
    private final Settings settings;
    private final StageRunner runner;
    private final Models models;
    private ShardedData<LmExample> ptx;
    private double ptxCoef;
    private int ptxPerMinibatch;
    private CostSource cost;
    private Broadcast<Static> statics;
    private long iteration, skippedUpdates, badInARow;
    /**
     * An iteration's coefficients, fixed by the driver before its stage: the KL coefficient beta,
     * the safety multiplier lambda, and the harmful prompts' own multiplier (both 0 unconstrained).
     */
    private record Coefficients(double beta, double lambda, double harmfulLambda) implements Serializable {}

    /** The iteration the driver's models and optimizers stand at (they return from the ranks only when asked), and the coefficients used since. */
    private long heldIteration, heldSkipped, heldBadInARow;
    private final List<Coefficients> coefsSinceHeld = new ArrayList<>(); // of each iteration since
    private final List<Long> replayed = new ArrayList<>();
    /** Whether every rank holds the state of the current iteration (false before the first stage). */
    private boolean ranksHoldState;

    public PpoTrainer(JavaSparkContext jsc, Models models, Optimizers optimizers, Settings settings, ShardedData<int[]> prompts) {
        if (settings.promptsPerIteration() % (prompts.partitions() * settings.minibatches()) != 0)
            throw new IllegalArgumentException("promptsPerIteration must be a multiple of partitions x minibatches");
        if (settings.advantage().needsCritic() != (models.critic() != null))
            throw new IllegalArgumentException(settings.advantage() + (models.critic() == null ? " needs a critic" : " trains no critic; pass none"));
        this.runner = new StageRunner(jsc, prompts.partitions(), settings.stages());
        this.jsc = jsc;
        this.models = models;
        this.policy = models.policy();
        this.critic = models.critic();
        this.policyOpt = optimizers.policy();
        this.criticOpt = optimizers.critic();
        this.kl = optimizers.kl();
        this.prompts = prompts;
        this.settings = settings;
    }

    /**
     * PPO-ptx (InstructGPT): every update also descends {@code coef} times the language-model loss
     * on {@code perMinibatch} pre-training sequences, which keeps the policy's general abilities.
     */
    public PpoTrainer withPretrainingMix(ShardedData<LmExample> data, double coef, int perMinibatch) {
        if (data.partitions() != prompts.partitions())
            throw new IllegalArgumentException("pre-training mix data needs the prompts' partition count (" + prompts.partitions() + ")");
        if (!(coef > 0)) throw new IllegalArgumentException("ppo.ptxCoef must be > 0 to mix in pre-training data");
        if (perMinibatch % data.partitions() != 0) throw new IllegalArgumentException("ppo.ptxPerMinibatch must be a multiple of train.partitions");
        this.ptx = data;
        this.ptxCoef = coef;
        this.ptxPerMinibatch = perMinibatch;
        return this;
    }

    /**
     * Safe RLHF: the policy maximizes the reward less lambda times a cost, the cost being a
     * harmlessness model's normalized score negated ({@code harmlessness}, with its score
     * normalization) or, in tests, a scripted cost ({@code scriptedCost}, taken with {@code costNorm});
     * {@code constraint} holds lambda and adapts it after each iteration.
     */
    public PpoTrainer withSafetyConstraint(Gpt harmlessness, RewardFunction scriptedCost, ExperienceMaker.ScoreNorm norm, SafetyConstraint constraint) {
        return withSafetyConstraint(harmlessness, scriptedCost, norm, constraint, null);
    }

    /**
     * The same, with the prompts known to be harmful told apart ({@code harmful}): their answers'
     * mean cost has a limit of its own when the constraint's settings give one.
     */
    public PpoTrainer withSafetyConstraint(Gpt harmlessness, RewardFunction scriptedCost, ExperienceMaker.ScoreNorm norm, SafetyConstraint constraint,
                                           PromptSet harmful) {
        if ((harmlessness == null) == (scriptedCost == null)) throw new IllegalArgumentException("a safety constraint needs a harmlessness model or a scripted cost");
        if (statics != null) throw new IllegalStateException("set the safety constraint before the first iteration");
        if (constraint.settings().limitsHarmful() && (harmful == null || harmful.size() == 0))
            throw new IllegalArgumentException("a limit on the harmful prompts' cost needs the harmful prompts");
        // a harmlessness model's mean m becomes the cost's mean -m; its spread stays
        this.cost = new CostSource(harmlessness, scriptedCost, harmlessness == null ? norm : new ExperienceMaker.ScoreNorm(-norm.mean(), norm.std()), constraint,
                harmful);
        return this;
    }

    public long iteration() {
        return iteration;
    }

    /** Restores the counters a checkpoint keeps: iterations done, updates skipped in all, and skipped in a row at its end. */
    public void restore(long completedIterations, long skippedUpdates, long badInARow) {
        this.iteration = this.heldIteration = completedIterations;
        this.skippedUpdates = this.heldSkipped = skippedUpdates;
        this.badInARow = this.heldBadInARow = badInARow;
        this.ranksHoldState = false;
    }

    /** Updates skipped because they were not finite, over the whole run. */
    public long skippedUpdates() {
        return skippedUpdates;
    }

    /** Non-finite updates in a row at the end of the last iteration (a checkpoint keeps it, so a resumed run stops where this one would). */
    public long badInARow() {
        return badInARow;
    }

    /** The failures that made an iteration's stage run again, in order: what the driver saw. */
    public List<String> retried() {
        return runner.retried();
    }

    /** The iterations run again to bring the driver's copy of the models up to date after a failure, in order. */
    public List<Long> replayed() {
        return java.util.Collections.unmodifiableList(replayed);
    }

    /** One PPO iteration, with the models brought back to the driver: see {@link #runIteration(boolean)}. */
    public Report runIteration() {
        return runIteration(true);
    }

    /**
     * One PPO iteration: a barrier stage makes experience and learns from it; then the KL
     * coefficient adapts. The trained models stay on the ranks between iterations; rank 0 brings
     * them back to the driver (the {@code Models} given to the constructor) only when
     * {@code returnModels} asks for it, for a checkpoint: at GPT-2 sizes they are gigabytes. A stage
     * that fails is run again from the driver's newest copy, replaying (bit for bit) the
     * iterations since it.
     */
    public Report runIteration(boolean returnModels) {
        long t0 = System.nanoTime();
        Coefficients coefs = cost == null ? new Coefficients(kl.beta(), 0, 0)
                : new Coefficients(kl.beta(), cost.constraint().lambda(), cost.constraint().harmfulLambda());
        List<Result> results = runner.run("the PPO stage of iteration " + (iteration + 1), "the iteration's start", r -> {}, (attempt, tracker) -> {
            Broadcast<Start> start = null;
            if (attempt > 0 || !ranksHoldState) { // ranks may lack this iteration's state: send the driver's, brought up to date
                catchUp(attempt);
                start = jsc.broadcast(heldState());
            }
            return submit(iteration, start, coefs, returnModels, attempt, tracker);
        });
        ranksHoldState = true;
        Result first = RankResult.checkIdentical(results);
        if (first.diverged() != null) throw new TrainingDiverged(first.diverged());
        skippedUpdates = first.skippedUpdates();
        badInARow = first.badInARow();
        if (first.end() != null) hold(first.end());
        else coefsSinceHeld.add(coefs);
        ExperienceStats batch = merge(results);
        kl.update(batch.klSum() / batch.count(), (long) batch.count());
        if (cost != null) cost.constraint().update(batch.costMean(), batch.harmfulCostMean()); // the driver's multiplier steps
        iteration++;
        return report(batch, first.learning(), coefs, (System.nanoTime() - t0) / 1e9);
    }

    /** The driver's copy of the models and counters, at iteration {@code heldIteration}. */
    private Start heldState() {
        return new Start(heldIteration, ReplicaState.of(policy, policyOpt), critic == null ? null : ReplicaState.of(critic, criticOpt), heldSkipped,
                heldBadInARow);
    }

    private void hold(Start end) {
        end.policy().loadInto(policy, policyOpt);
        if (critic != null) end.critic().loadInto(critic, criticOpt);
        heldIteration = end.iteration();
        heldSkipped = end.skippedUpdates();
        heldBadInARow = end.badInARow();
        coefsSinceHeld.clear();
    }

    /**
     * Brings the driver's copy up to the current iteration by running the iterations since it
     * again, with the betas and multipliers they had; only their state is kept (their results are already known).
     */
    private void catchUp(int attempt) throws Exception {
        while (heldIteration < iteration) {
            System.err.printf("PPO: replaying iteration %d from the driver's copy of the models%n", heldIteration + 1);
            replayed.add(heldIteration + 1);
            try (StageTracker tracker = new StageTracker(jsc.getConf().get("spark.driver.host"), prompts.partitions(), r -> {})) {
                List<Coefficients> later = new ArrayList<>(coefsSinceHeld.subList(1, coefsSinceHeld.size()));
                Coefficients coefs = coefsSinceHeld.get(0);
                Result first = RankResult.checkIdentical(submit(heldIteration, jsc.broadcast(heldState()), coefs, true, attempt, tracker.address()));
                hold(first.end());
                coefsSinceHeld.addAll(later);
            }
        }
    }

    private Broadcast<Static> statics() {
        if (statics == null) {
            int per = settings.promptsPerIteration() / prompts.partitions(), ptxPer = ptx == null ? 0 : ptxPerMinibatch / ptx.partitions();
            Gpt reward = models.rewardModel();
            statics = jsc.broadcast(new Static(UUID.randomUUID().toString(), reward == null ? null : reward.config(),
                    // with LoRA the reference is the policy's frozen base, which every rank already holds
                    models.policy().config().lora() != null ? null : models.reference().parameters().flat().toFloatBytes(),
                    reward == null ? null : reward.parameters().flat().toFloatBytes(),
                    models.scripted(), settings, per, Math.max(1, prompts.minBlockSize / per), ptxCoef, ptxPer,
                    ptx == null ? 1 : Math.max(1, ptx.minBlockSize / Math.max(1, ptxPer)),
                    cost == null || cost.harmlessness() == null ? null : cost.harmlessness().config(),
                    cost == null || cost.harmlessness() == null ? null : cost.harmlessness().parameters().flat().toFloatBytes(),
                    cost == null ? null : cost.scriptedCost(), cost == null ? null : cost.costNorm(), cost == null ? null : cost.harmful()));
        }
        return statics;
    }

    private JavaRDD<Shard> shards() {
        return ptx == null ? prompts.blocks.map(b -> new Shard(b, null))
                : prompts.blocks.zipPartitions(ptx.blocks, (a, b) -> List.of(new Shard(a.next(), b.next())).iterator());
    }

    /**
     * Runs iteration {@code it + 1} as a barrier stage. {@code start} (null when every rank holds
     * the state already) is the state a rank loads when its own is missing or stands elsewhere;
     * {@code coefs} are the iteration's KL coefficient and multipliers.
     */
    private List<Result> submit(long it, Broadcast<Start> start, Coefficients coefs, boolean returnModels, int attempt, String trackerAddress) {
        Broadcast<Static> st = statics();
        try {
            return BarrierStage.mapPartitions(shards(), (shards, ctx) -> {
                Static s = st.value();
                Shard shard = shards.next();
                TaskSetup.begin(s.settings().stages().threadsPerTask());
                int rank = ctx.partitionId();
                RankState resident = ResidentReplicas.take(s.runId(), rank);
                boolean holds = resident != null && resident.position() == it;
                try (StageRunner.Rank links = StageRunner.Rank.join(ctx, trackerAddress, s.settings().stages())) {
                    // every rank learns who holds this iteration's state; without the driver's copy, all stop together
                    double[][] held = links.ring().allGather(new double[]{holds ? 1 : 0});
                    if (start == null && java.util.Arrays.stream(held).anyMatch(h -> h[0] == 0))
                        throw new IllegalStateException("a rank holds no state for iteration " + (it + 1) + " (its executor is new, or the ranks moved); "
                                + "the driver sends its copy on the next attempt");
                    RankState rs = holds ? resident : resident != null ? resident.load(start.value()) : new RankState(s, start.value());
                    Result r = iterate(rs, s, shard, links, coefs, returnModels, attempt);
                    if (r.diverged() == null) ResidentReplicas.release(s.runId(), rank, rs);
                    return List.of(r).iterator();
                }
            }).collect();
        } finally {
            if (start != null) start.unpersist(false);
        }
    }

    /** A rank's state between iterations: the trained replicas (no critic for the group methods), the frozen models, the gradient buffers, the counters. */
    static final class RankState implements ResidentReplicas.Resident {
        final Replica policy, critic;
        final Gpt reference, rewardModel, harmlessness;
        final Parameters ptxGrads;
        final float[] buffer; // the policy's gradient, then the critic's, as the collective sums them
        long iteration, skippedUpdates, badInARow;

        RankState(Static s, Start start) {
            policy = new Replica(start.policy());
            critic = start.critic() == null ? null : new Replica(start.critic());
            if (s.reference() == null) {
                reference = policy.model.base(); // LoRA: the same memory as the policy's frozen base
            } else {
                reference = Gpt.init(start.policy().config(), DType.FLOAT32, 0);
                reference.parameters().flat().copyFromFloatBytes(s.reference());
            }
            rewardModel = s.rewardCfg() == null ? null : Gpt.init(s.rewardCfg(), DType.FLOAT32, 0);
            if (rewardModel != null) rewardModel.parameters().flat().copyFromFloatBytes(s.rewardModel());
            harmlessness = s.harmlessnessCfg() == null ? null : Gpt.init(s.harmlessnessCfg(), DType.FLOAT32, 0);
            if (harmlessness != null) harmlessness.parameters().flat().copyFromFloatBytes(s.harmlessness());
            ptxGrads = s.ptxCoef() > 0 ? policy.model.newTrainableGradients() : null;
            buffer = new float[policy.size() + (critic == null ? 0 : critic.size())];
            setCounters(start);
        }

        RankState load(Start start) {
            start.policy().loadInto(policy.model, policy.optimizer);
            if (critic != null) start.critic().loadInto(critic.model, critic.optimizer);
            setCounters(start);
            return this;
        }

        private void setCounters(Start start) {
            iteration = start.iteration();
            skippedUpdates = start.skippedUpdates();
            badInARow = start.badInARow();
        }

        @Override
        public long position() {
            return iteration;
        }

        Start snapshot() {
            return new Start(iteration, policy.state(), critic == null ? null : critic.state(), skippedUpdates, badInARow);
        }
    }

    /** One rank's iteration: steps 1 to 4 of the class comment. */
    private static Result iterate(RankState rs, Static s, Shard shard, StageRunner.Rank links, Coefficients coefs, boolean returnModels, int attempt) {
        Settings set = s.settings();
        double beta = coefs.beta();
        long seed = set.seed(), it = rs.iteration;
        int rank = links.rank();
        Collective ring = links.ring();

        // 1. experience from this rank's prompts (sample j of prompt i seeded by index i x groupSize + j)
        List<int[]> mine = shard.prompts().slice(seed, it, s.promptsPerRank(), s.promptEpochSteps());
        long[] seeds = new long[mine.size() * set.groupSize()];
        for (int i = 0; i < seeds.length; i++) seeds[i] = mix(seed, it, shard.prompts().partition, i);
        RewardFunction reward = s.scripted() != null ? s.scripted() : RewardFunction.model(rs.rewardModel, set.experience().microBatch());
        ConstrainedReward constrained = null;
        if (s.constrained()) { // Safe RLHF: reward less lambda x cost (on harmful prompts, (lambda + their own multiplier) x cost)
            RewardFunction cost = s.scriptedCost() != null ? s.scriptedCost()
                    : ConstrainedReward.negated(RewardFunction.model(rs.harmlessness, set.experience().microBatch()));
            reward = constrained = new ConstrainedReward(reward, set.experience().norm(), cost, s.costNorm(), coefs.lambda(), s.harmfulPrompts(), coefs.harmfulLambda());
        }
        ExperienceMaker.Models from = new ExperienceMaker.Models(rs.policy.model, rs.reference, rs.critic == null ? null : rs.critic.model, reward);
        ExperienceMaker.Made made = set.advantage().needsCritic() ? ExperienceMaker.make(mine, seeds, from, set.experience(), beta)
                : ExperienceMaker.makeGroups(mine, set.groupSize(), seeds, from, set.experience(), beta, set.advantage());
        ExperienceStats stats = statsOf(made, constrained);

        // 2. the minibatches of every update, and what the ranks must agree on before the first
        int updates = set.epochs() * set.minibatches();
        List<List<Experience>> batches = new ArrayList<>(updates);
        List<List<LmExample>> ptxBatches = new ArrayList<>(updates);
        double[] agree = new double[3 + 2 * updates];
        agree[0] = stats.advantages().count();
        agree[1] = stats.advantages().mean();
        agree[2] = stats.advantages().m2();
        for (int epoch = 0; epoch < set.epochs(); epoch++) {
            List<Experience> exp = made.experiences();
            int[] order = SeededPermutation.of(exp.size(), mix(seed, it * 1000 + epoch, shard.prompts().partition, 7));
            int size = exp.size() / set.minibatches();
            for (int mb = 0; mb < set.minibatches(); mb++) {
                int u = epoch * set.minibatches() + mb;
                List<Experience> batch = new ArrayList<>(size);
                for (int i = mb * size; i < (mb + 1) * size; i++) batch.add(exp.get(order[i]));
                batches.add(batch);
                for (Experience e : batch) agree[3 + 2 * u] += e.response().length;
                if (shard.ptx() != null) {
                    List<LmExample> lm = shard.ptx().slice(seed, it * updates + u, s.ptxPerRank(), s.ptxEpochSteps());
                    ptxBatches.add(lm);
                    for (LmExample e : lm) agree[4 + 2 * u] += e.targetCount();
                }
            }
        }
        double[][] all = ring.allGather(agree);
        Moments advantages = Moments.EMPTY;
        double[] tokens = new double[updates], ptxTargets = new double[updates];
        for (double[] a : all) { // rank order: the same merge on every rank
            advantages = advantages.merge(new Moments((long) a[0], a[1], a[2]));
            for (int u = 0; u < updates; u++) {
                tokens[u] += a[3 + 2 * u];
                ptxTargets[u] += a[4 + 2 * u];
            }
        }

        // 3. the updates (GAE's advantages whitened with the whole batch's moments; group advantages are normalized already)
        Moments whitening = set.advantage().needsCritic() ? advantages : null;
        double klInLoss = set.advantage() == Advantage.GRPO ? beta : 0;
        PpoUpdate.Stats total = PpoUpdate.Stats.ZERO;
        long trainingNanos = 0, criticNanos = 0;
        double ptxLossSum = 0;
        int ptxUpdates = 0, skipped = 0, ran = 0;
        String diverged = null;
        for (int u = 0; u < updates && diverged == null; u++) {
            Update up = update(rs, s, batches.get(u), shard.ptx() == null ? null : ptxBatches.get(u), whitening, klInLoss, tokens[u], ptxTargets[u],
                    ring);
            trainingNanos += up.slowestNanos();
            criticNanos += up.slowestCriticNanos();
            if (up.outcome() == Outcome.STOPPED) break; // every rank sees the same sums, so every rank stops here
            ran++;
            if (up.outcome() == Outcome.SKIPPED) {
                skipped++;
                if (rs.badInARow > set.maxBadSteps())
                    diverged = "non-finite PPO loss or gradient in " + rs.badInARow + " updates in a row (last at iteration " + (it + 1) + ", epoch "
                            + (u / set.minibatches() + 1) + ", minibatch " + (u % set.minibatches() + 1) + "); the limit is train.maxBadSteps = "
                            + set.maxBadSteps() + ". Lower ppo.policyLr / ppo.criticLr or check the reward";
            } else {
                total = total.plus(up.stats());
                if (up.ptxLoss() != null) {
                    ptxLossSum += up.ptxLoss();
                    ptxUpdates++;
                }
            }
            if (set.stages().hook() != null) set.stages().hook().afterUpdate(rank, it * updates + u + 1, attempt);
        }
        rs.iteration++;

        // 4. what returns to the driver
        String digest = RankResult.digest(rs.policy.model.parameters().flat())
                + (rs.critic == null ? "" : "+" + RankResult.digest(rs.critic.model.parameters().flat()));
        boolean zero = rank == 0 && diverged == null;
        return new Result(rank, digest, stats, zero && returnModels ? rs.snapshot() : null,
                zero ? new Learning(total, trainingNanos, criticNanos, ptxLossSum, ptxUpdates, skipped, ran) : null, rs.skippedUpdates, rs.badInARow,
                diverged);
    }

    /**
     * What became of an update: applied; skipped for a non-finite value; or stopped, not applied
     * because its minibatch measured more than the early stop's KL, and the iteration ends there.
     */
    private enum Outcome { APPLIED, SKIPPED, STOPPED }

    /**
     * One update's statistics summed over ranks, its mean pre-training loss (null without PPO-ptx),
     * the slowest rank's compute and critic time, and its outcome.
     */
    private record Update(PpoUpdate.Stats stats, Double ptxLoss, long slowestNanos, long slowestCriticNanos, Outcome outcome) {}

    /**
     * One synchronous update on a rank: the gradients of its minibatch share (scaled by the global
     * token counts, so the ranks' shares add up to the mean), summed with the other ranks' by the
     * collective together with the statistics, then applied to both replicas, or skipped by every
     * rank when anything is not finite. {@code whitening} null takes the advantages as they are;
     * {@code klInLoss} is GRPO's KL coefficient (0 otherwise).
     */
    private static Update update(RankState rs, Static s, List<Experience> batch, List<LmExample> ptxBatch, Moments whitening, double klInLoss,
                                 double tokens, double ptxTargets, Collective ring) {
        long t0 = System.nanoTime();
        Parameters pg = rs.policy.grads, cg = rs.critic == null ? null : rs.critic.grads;
        pg.flat().zero();
        if (cg != null) cg.flat().zero();
        PpoUpdate.Stats ps = PpoUpdate.accumulate(rs.policy.model, rs.critic == null ? null : rs.critic.model, batch, whitening,
                s.settings().experience().ppo(), pg, cg, klInLoss);
        pg.flat().scale(1.0 / tokens);
        if (cg != null) cg.flat().scale(1.0 / tokens);
        StepStats lm = StepStats.ZERO;
        if (ptxBatch != null) {
            rs.ptxGrads.flat().zero();
            lm = new LanguageModelObjective().accumulate(rs.policy.model, ptxBatch, s.settings().experience().microBatch(), rs.ptxGrads);
            pg.flat().addScaled(rs.ptxGrads.flat(), s.ptxCoef() / ptxTargets);
        }
        int np = rs.policy.size(), nc = cg == null ? 0 : rs.critic.size();
        pg.flat().read(0, rs.buffer, 0, np);
        if (cg != null) cg.flat().read(0, rs.buffer, np, nc);
        double[][] all = ring.allReduceSum(rs.buffer, new double[]{ps.policyLoss(), ps.valueLoss(), ps.entropy(), ps.approxKl(), ps.clipped(),
                ps.ratio(), ps.ratioMax(), ps.tokens(), System.nanoTime() - t0, lm.lossSum(), ps.criticNanos()});
        PpoUpdate.Stats sum = PpoUpdate.Stats.ZERO;
        double lmLoss = 0;
        long slowest = 0, slowestCritic = 0;
        for (double[] v : all) { // rank order: the same sums on every rank
            sum = sum.plus(new PpoUpdate.Stats(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], 0, 0));
            slowest = Math.max(slowest, (long) v[8]);
            lmLoss += v[9];
            slowestCritic = Math.max(slowestCritic, (long) v[10]);
        }
        boolean finite = Double.isFinite(sum.policyLoss()) && Double.isFinite(sum.valueLoss()) && Double.isFinite(lmLoss);
        for (float g : rs.buffer) finite &= Float.isFinite(g);
        Double ptxLoss = ptxBatch == null ? null : lmLoss / ptxTargets;
        if (!finite) { // skipped by both optimizers, counted; too many in a row stop the run
            rs.badInARow++;
            rs.skippedUpdates++;
            return new Update(sum, ptxLoss, slowest, slowestCritic, Outcome.SKIPPED);
        }
        double maxKl = s.settings().maxUpdateKl();
        if (maxKl > 0 && sum.approxKl() / tokens > maxKl) return new Update(sum, ptxLoss, slowest, slowestCritic, Outcome.STOPPED);
        rs.badInARow = 0;
        pg.flat().write(0, rs.buffer, 0, np);
        rs.policy.optimizer.step(rs.policy.model.trainable(), pg);
        if (cg != null) {
            long c0 = System.nanoTime();
            cg.flat().write(0, rs.buffer, np, nc);
            rs.critic.optimizer.step(rs.critic.model.trainable(), cg);
            slowestCritic += System.nanoTime() - c0; // this rank's optimizer step: the ranks step alike
        }
        return new Update(sum, ptxLoss, slowest, slowestCritic, Outcome.APPLIED);
    }

    private static ExperienceStats statsOf(ExperienceMaker.Made made, ConstrainedReward constrained) {
        Moments m = Moments.EMPTY, ret = Moments.EMPTY, res = Moments.EMPTY;
        double score = 0, klSum = 0, len = 0, eos = 0;
        List<Sample> samples = new ArrayList<>();
        for (Experience e : made.experiences()) {
            m = m.merge(Moments.of(e.advantages()));
            for (int t = 0; t < e.returns().length; t++) {
                ret = ret.add(e.returns()[t]);
                res = res.add(e.returns()[t] - e.oldValues()[t]); // explained variance: 1 - Var[R - V] / Var[R]
            }
            score += e.score();
            klSum += e.klSum();
            len += e.response().length;
            eos += e.endedWithEos() ? 1 : 0;
            samples.add(new Sample(e.prompt(), e.response(), e.score())); // every rollout returns: the driver may score them (gold evaluation)
        }
        return new ExperienceStats(m, ret, res, score, klSum, len, eos, made.experiences().size(), made.timing().samplingNanos(),
                made.timing().scoringNanos(), made.timing().criticNanos(), samples, constrained == null ? 0 : constrained.rewardSum(),
                constrained == null ? 0 : constrained.costSum(), constrained == null ? 0 : constrained.harmfulCostSum(),
                constrained == null ? 0 : constrained.harmfulCount());
    }

    /** The whole batch's statistics, merged in rank order; times are the slowest rank's. */
    private static ExperienceStats merge(List<Result> results) {
        List<Result> byRank = new ArrayList<>(results);
        byRank.sort((a, b) -> Integer.compare(a.rank(), b.rank()));
        Moments adv = Moments.EMPTY, returns = Moments.EMPTY, residuals = Moments.EMPTY;
        double score = 0, klSum = 0, len = 0, eos = 0, n = 0, rewardSum = 0, costSum = 0, harmfulCostSum = 0, harmfulCount = 0;
        long sampling = 0, scoring = 0, critic = 0;
        List<Sample> samples = new ArrayList<>();
        for (Result r : byRank) {
            ExperienceStats s = r.experience();
            adv = adv.merge(s.advantages());
            returns = returns.merge(s.returns());
            residuals = residuals.merge(s.residuals());
            score += s.scoreSum();
            klSum += s.klSum();
            len += s.lengthSum();
            eos += s.eosCount();
            n += s.count();
            sampling = Math.max(sampling, s.samplingNanos());
            scoring = Math.max(scoring, s.scoringNanos());
            critic = Math.max(critic, s.criticNanos());
            samples.addAll(s.samples());
            rewardSum += s.rewardSum();
            costSum += s.costSum();
            harmfulCostSum += s.harmfulCostSum();
            harmfulCount += s.harmfulCount();
        }
        return new ExperienceStats(adv, returns, residuals, score, klSum, len, eos, n, sampling, scoring, critic, samples, rewardSum, costSum,
                harmfulCostSum, harmfulCount);
    }

    private Report report(ExperienceStats b, Learning l, Coefficients c, double seconds) {
        double sampling = b.samplingNanos() / 1e9, scoring = b.scoringNanos() / 1e9, training = l.trainingNanos() / 1e9;
        double varY = b.returns().variance(), varR = b.residuals().variance(), tok = l.total().tokens();
        PpoUpdate.Stats t = l.total();
        return new Report(iteration, b.scoreSum() / b.count(), b.klSum() / b.count(), c.beta(), b.lengthSum() / b.count(), b.eosCount() / b.count(),
                t.policyLoss() / tok, t.valueLoss() / tok, t.entropy() / tok, t.approxKl() / tok, t.clipped() / tok, t.ratio() / tok, t.ratioMax(),
                varY > 0 ? 1 - varR / varY : Double.NaN, sampling, scoring, training, Math.max(0, seconds - sampling - scoring - training), seconds,
                b.lengthSum(), l.ptxUpdates() > 0 ? l.ptxLossSum() / l.ptxUpdates() : Double.NaN, l.skipped(),
                (b.criticNanos() + l.criticNanos()) / 1e9, b.samples(),
                cost == null ? null : new Safety(b.rewardSum() / b.count(), b.costMean(), c.lambda(), b.harmfulCostMean(), c.harmfulLambda()),
                l.updates());
    }

    /**
     * A critic's memory on a rank: its float32 parameters, and for what it trains (all, or with
     * LoRA the adapters and heads) the gradient, AdamW's two moments and the collective's buffer.
     */
    public static long criticBytes(org.sparkrlhf.model.GptConfig critic) {
        long all = org.sparkrlhf.model.ParameterLayout.of(critic).size();
        long trained = critic.lora() == null ? all : org.sparkrlhf.model.ParameterLayout.trainable(critic).size();
        return 4 * (all + 4 * trained);
    }

    /** A well-mixed seed from (run seed, iteration, rank, index). */
    static long mix(long seed, long a, long b, long c) {
        long h = seed;
        for (long v : new long[]{a, b, c}) {
            h ^= v + 0x9E3779B97F4A7C15L + (h << 6) + (h >>> 2);
            h *= 0xBF58476D1CE4E5B9L;
            h ^= h >>> 31;
        }
        return h;
    }
}
