package org.sparkrlhf.engine;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction2;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.optim.AdamW;
import org.sparkrlhf.rl.Experience;
import org.sparkrlhf.rl.ExperienceMaker;
import org.sparkrlhf.rl.KlController;
import org.sparkrlhf.rl.Moments;
import org.sparkrlhf.rl.PpoSettings;
import org.sparkrlhf.rl.PpoUpdate;
import org.sparkrlhf.rl.RewardFunction;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.training.LanguageModelObjective;
import org.sparkrlhf.training.LmExample;
import org.sparkrlhf.training.StepStats;

/**
 * PPO on Spark, one iteration at a time, as the algorithm reads:
 * <ol>
 *   <li>the driver broadcasts the policy and critic; each partition takes its share of the
 *       iteration's prompts (fixed by seed and iteration) and makes experience on executors:
 *       samples, scores, shaped rewards, GAE. The experience stays cached there;</li>
 *   <li>only statistics come back: the advantage moments for global whitening, scores, KL;</li>
 *   <li>epochs x minibatches of synchronous updates: each partition returns the policy and
 *       critic gradients of its minibatch share, the driver sums them in partition order and
 *       steps both AdamW optimizers;</li>
 *   <li>the KL controller adapts beta to the iteration's KL.</li>
 * </ol>
 * Sequence seeds are derived from (seed, iteration, partition, index), so a retried task
 * regenerates the same rollouts and a run is reproducible bit for bit.
 */
public final class PpoTrainer {

    /** The models of a run: policy and critic (trained), the frozen reference, and the reward (a model, or else a scripted function). */
    public record Models(Gpt policy, Gpt critic, Gpt reference, Gpt rewardModel, RewardFunction scripted) {}

    /** The driver's optimizers for policy and critic, and the KL controller. */
    public record Optimizers(AdamW policy, AdamW critic, KlController kl) {}

    /**
     * An iteration's shape: how experience is made, prompts per iteration, epochs x minibatches of
     * updates, the seed, and how many non-finite updates in a row are skipped before the run stops.
     */
    public record Settings(ExperienceMaker.Settings experience, int promptsPerIteration, int epochs, int minibatches, long seed, int maxBadSteps) {}

    /** What executors need once per run: frozen models, settings, and the reward. */
    record Static(String runId, GptConfig policyCfg, GptConfig criticCfg, GptConfig rewardCfg, byte[] reference, byte[] rewardModel,
                  RewardFunction scripted, ExperienceMaker.Settings experience, long seed) implements Serializable {
        PpoSettings settings() {
            return experience.ppo();
        }

        int microBatch() {
            return experience.microBatch();
        }
    }

    /** The trainable models at one version. */
    record Live(long version, byte[] policy, byte[] critic) implements Serializable {}

    /** One partition's experience, cached on its executor, and what making it cost. */
    record ExperienceShard(int partition, List<Experience> experiences, ExperienceMaker.Timing timing) implements Serializable {}

    /** A sampled response and its score, for the run's record. */
    public record Sample(int[] prompt, int[] response, double score) implements Serializable {}

    /** One partition's experience statistics. */
    record ExperienceStats(int partition, Moments advantages, Moments returns, Moments residuals, double scoreSum, double klSum,
                           double lengthSum, double eosCount, double count, long samplingNanos, long scoringNanos, List<Sample> samples)
            implements Serializable {}

    /** One partition's minibatch gradients; {@code ptx} is the pre-training-mix gradient (null without PPO-ptx). */
    record Grad(int partition, byte[] policy, byte[] critic, PpoUpdate.Stats stats, byte[] ptx, StepStats ptxStats) implements Serializable {}

    /** Everything an iteration measured. */
    public record Report(long iteration, double scoreMean, double klMean, double beta, double responseLength, double eosRate,
                         double policyLoss, double valueLoss, double entropy, double approxKl, double clipFraction, double ratioMean,
                         double ratioMax, double valueExplainedVariance, double samplingSeconds, double scoringSeconds,
                         double trainingSeconds, double overheadSeconds, double iterationSeconds, double tokens,
                         double ptxLoss, int skippedUpdates, List<Sample> samples) {}

    private final JavaSparkContext jsc;
    private final Gpt policy, critic;
    private final AdamW policyOpt, criticOpt;
    private final KlController kl;
    private final ShardedData<int[]> prompts;
    private final int promptsPerIteration, epochs, minibatches;
    private final Broadcast<Static> statics;
    /** The driver's summed gradients, reused by every update (each sum overwrites them whole). */
    private final Parameters policyGrads, criticGrads, ptxGrads;
    private ShardedData<LmExample> ptx;
    private double ptxCoef;
    private int ptxPerMinibatch;
    private long iteration;
    private final int maxBadSteps;
    private long badInARow, skippedUpdates;

    public PpoTrainer(JavaSparkContext jsc, Models models, Optimizers optimizers, Settings settings, ShardedData<int[]> prompts) {
        if (settings.promptsPerIteration() % (prompts.partitions() * settings.minibatches()) != 0)
            throw new IllegalArgumentException("promptsPerIteration must be a multiple of partitions x minibatches");
        this.jsc = jsc;
        this.policy = models.policy();
        this.critic = models.critic();
        this.policyOpt = optimizers.policy();
        this.criticOpt = optimizers.critic();
        this.kl = optimizers.kl();
        this.prompts = prompts;
        this.promptsPerIteration = settings.promptsPerIteration();
        this.epochs = settings.epochs();
        this.minibatches = settings.minibatches();
        this.maxBadSteps = settings.maxBadSteps();
        this.policyGrads = policy.newGradients();
        this.criticGrads = critic.newGradients();
        this.ptxGrads = policy.newGradients();
        Gpt rewardModel = models.rewardModel();
        this.statics = jsc.broadcast(new Static(UUID.randomUUID().toString(), policy.config(), critic.config(),
                rewardModel == null ? null : rewardModel.config(), models.reference().parameters().flat().toFloatBytes(),
                rewardModel == null ? null : rewardModel.parameters().flat().toFloatBytes(), models.scripted(), settings.experience(),
                settings.seed()));
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

    public long iteration() {
        return iteration;
    }

    /** Restores the counters a checkpoint keeps: iterations done, updates skipped in all, and skipped in a row at its end. */
    public void restore(long completedIterations, long skippedUpdates, long badInARow) {
        this.iteration = completedIterations;
        this.skippedUpdates = skippedUpdates;
        this.badInARow = badInARow;
    }

    /** Updates skipped because they were not finite, over the whole run. */
    public long skippedUpdates() {
        return skippedUpdates;
    }

    /** Non-finite updates in a row at the end of the last iteration (a checkpoint keeps it, so a resumed run stops where this one would). */
    public long badInARow() {
        return badInARow;
    }

    /** One PPO iteration: make experience, then learn from it, then adapt the KL coefficient. */
    public Report runIteration() {
        long t0 = System.nanoTime();
        double beta = kl.beta();
        Broadcast<Live> live = broadcastModels();
        JavaRDD<ExperienceShard> experience = makeExperience(live, beta).persist(StorageLevel.MEMORY_AND_DISK());
        BatchStats batch = summarize(experience);
        live.unpersist(false);

        Learning learning = new Learning();
        for (int epoch = 0; epoch < epochs; epoch++)
            for (int mb = 0; mb < minibatches; mb++) learning.add(update(experience, batch.advantages(), epoch, mb));
        experience.unpersist(false);

        kl.update(batch.klSum() / batch.count(), (long) batch.count());
        iteration++;
        return report(batch, learning, beta, (System.nanoTime() - t0) / 1e9);
    }

    private Broadcast<Live> broadcastModels() {
        return jsc.broadcast(new Live(policyOpt.stepCount(), policy.parameters().flat().toFloatBytes(), critic.parameters().flat().toFloatBytes()));
    }

    /** Steps 1-3 on the executors: each partition samples and scores its share of this iteration's prompts. */
    private JavaRDD<ExperienceShard> makeExperience(Broadcast<Live> live, double beta) {
        Broadcast<Static> st = statics;
        long it = iteration;
        int per = promptsPerIteration / prompts.partitions();
        long epochSteps = Math.max(1, prompts.minBlockSize / per);
        return prompts.blocks.map(block -> {
            Static s = st.value();
            Slot slot = Slot.borrow(s, live.value());
            try {
                List<int[]> mine = block.slice(s.seed(), it, per, epochSteps);
                long[] seeds = new long[mine.size()];
                for (int i = 0; i < seeds.length; i++) seeds[i] = mix(s.seed(), it, block.partition, i);
                RewardFunction reward = s.scripted() != null ? s.scripted() : RewardFunction.model(slot.rewardModel, s.microBatch());
                ExperienceMaker.Made made = ExperienceMaker.make(mine, seeds, new ExperienceMaker.Models(slot.policy, slot.reference, slot.critic, reward),
                        s.experience(), beta);
                return new ExperienceShard(block.partition, made.experiences(), made.timing());
            } finally {
                Slot.release(s.runId(), slot);
            }
        });
    }

    /** The whole batch's statistics, merged in partition order (the experience itself stays on the executors). */
    record BatchStats(Moments advantages, Moments returns, Moments residuals, double scoreSum, double klSum, double lengthSum,
                      double eosCount, double count, long samplingNanos, long scoringNanos, List<Sample> samples) {}

    private BatchStats summarize(JavaRDD<ExperienceShard> experience) {
        List<ExperienceStats> stats = new ArrayList<>(experience.map(PpoTrainer::statsOf).collect());
        stats.sort((a, b) -> Integer.compare(a.partition(), b.partition()));
        Moments adv = Moments.EMPTY, returns = Moments.EMPTY, residuals = Moments.EMPTY;
        double score = 0, klSum = 0, len = 0, eos = 0, n = 0;
        long sampling = 0, scoring = 0;
        List<Sample> samples = new ArrayList<>();
        for (ExperienceStats s : stats) {
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
            samples.addAll(s.samples());
        }
        return new BatchStats(adv, returns, residuals, score, klSum, len, eos, n, sampling, scoring, samples);
    }

    private static ExperienceStats statsOf(ExperienceShard shard) {
        Moments m = Moments.EMPTY, ret = Moments.EMPTY, res = Moments.EMPTY;
        double score = 0, klSum = 0, len = 0, eos = 0;
        List<Sample> samples = new ArrayList<>();
        for (Experience e : shard.experiences()) {
            m = m.merge(Moments.of(e.advantages()));
            for (int t = 0; t < e.returns().length; t++) {
                ret = ret.add(e.returns()[t]);
                res = res.add(e.returns()[t] - e.oldValues()[t]); // explained variance: 1 - Var[R - V] / Var[R]
            }
            score += e.score();
            klSum += e.klSum();
            len += e.response().length;
            eos += e.endedWithEos() ? 1 : 0;
            samples.add(new Sample(e.prompt(), e.response(), e.score())); // all rollouts: the driver may score them (gold evaluation)
        }
        ExperienceMaker.Timing tm = shard.timing();
        return new ExperienceStats(shard.partition(), m, ret, res, score, klSum, len, eos, shard.experiences().size(),
                tm.samplingNanos(), tm.scoringNanos(), samples);
    }

    /** What the updates of an iteration measured, summed. */
    private static final class Learning {
        PpoUpdate.Stats total = PpoUpdate.Stats.ZERO;
        long trainingNanos;
        double ptxLossSum;
        int ptxUpdates, skipped;

        void add(Update u) {
            trainingNanos += u.stats().computeNanos();
            if (u.skipped()) { // its statistics are not finite: they stay out of the iteration's means
                skipped++;
                return;
            }
            total = total.plus(u.stats());
            if (u.ptxStats() != null) {
                ptxLossSum += u.ptxStats().meanLoss();
                ptxUpdates++;
            }
        }
    }

    /** One synchronous update's statistics (ptxStats null without PPO-ptx); {@code skipped} when it was not finite and not applied. */
    private record Update(PpoUpdate.Stats stats, StepStats ptxStats, boolean skipped) {}

    /**
     * Step 4, one minibatch: every partition computes the policy and critic gradients of its share
     * (and the pre-training mix's), the driver sums them in partition order and steps both optimizers.
     */
    private Update update(JavaRDD<ExperienceShard> experience, Moments advantages, int epoch, int minibatch) {
        Broadcast<Static> st = statics;
        Broadcast<Live> params = broadcastModels();
        long it = iteration;
        int parts = minibatches;
        int ptxPer = ptx == null ? 0 : ptxPerMinibatch / ptx.partitions();
        long ptxStep = (it * epochs + epoch) * minibatches + minibatch, ptxEpoch = ptx == null ? 1 : Math.max(1, ptx.minBlockSize / Math.max(1, ptxPer));
        FlatMapFunction2<Iterator<ExperienceShard>, Iterator<ExampleBlock<LmExample>>, Grad> shardGradient = (shards, ptxBlocks) -> {
            ExperienceShard shard = shards.next();
            Static s = st.value();
            List<Experience> exp = shard.experiences();
            int[] order = ExampleBlock.permutation(exp.size(), mix(s.seed(), it * 1000 + epoch, shard.partition(), 7));
            int size = exp.size() / parts;
            List<Experience> mine = new ArrayList<>();
            for (int i = minibatch * size; i < (minibatch + 1) * size; i++) mine.add(exp.get(order[i]));
            Slot slot = Slot.borrow(s, params.value());
            try {
                slot.policyGrads.flat().zero();
                slot.criticGrads.flat().zero();
                PpoUpdate.Stats ps = PpoUpdate.accumulate(slot.policy, slot.critic, mine, advantages, s.settings(), slot.policyGrads, slot.criticGrads);
                byte[] policyBytes = slot.policyGrads.flat().toFloatBytes(), ptxBytes = null;
                StepStats ptxStats = null;
                if (ptxBlocks != null && ptxBlocks.hasNext()) {
                    List<LmExample> lm = ptxBlocks.next().slice(s.seed(), ptxStep, ptxPer, ptxEpoch);
                    slot.policyGrads.flat().zero();
                    ptxStats = new LanguageModelObjective().accumulate(slot.policy, lm, s.microBatch(), slot.policyGrads);
                    ptxBytes = slot.policyGrads.flat().toFloatBytes();
                }
                return Collections.singletonList(new Grad(shard.partition(), policyBytes, slot.criticGrads.flat().toFloatBytes(), ps, ptxBytes, ptxStats)).iterator();
            } finally {
                Slot.release(s.runId(), slot);
            }
        };
        List<Grad> grads = new ArrayList<>(ptx == null
                ? experience.mapPartitions(shards -> shardGradient.call(shards, null)).collect()
                : experience.zipPartitions(ptx.blocks, shardGradient).collect());
        params.unpersist(false);
        grads.sort((a, b) -> Integer.compare(a.partition(), b.partition()));

        PpoUpdate.Stats stats = PpoUpdate.Stats.ZERO;
        for (Grad g : grads) stats = stats.plus(g.stats());
        float scale = (float) (1.0 / stats.tokens());
        boolean finite = GradientSum.sum(grads.stream().map(Grad::policy).toList(), scale, policyGrads)
                & GradientSum.sum(grads.stream().map(Grad::critic).toList(), scale, criticGrads);
        StepStats ptxStats = null;
        if (ptx != null) {
            ptxStats = grads.get(0).ptxStats();
            for (int g = 1; g < grads.size(); g++) ptxStats = ptxStats.plus(grads.get(g).ptxStats());
            finite &= GradientSum.sum(grads.stream().map(Grad::ptx).toList(), (float) (ptxCoef / ptxStats.count()), ptxGrads);
            policyGrads.flat().addScaled(ptxGrads.flat(), 1.0);
        }
        finite &= Double.isFinite(stats.policyLoss()) && Double.isFinite(stats.valueLoss());
        if (!finite) { // skipped by both optimizers, counted; too many in a row stop the run
            badInARow++;
            skippedUpdates++;
            if (badInARow > maxBadSteps)
                throw new TrainingDiverged("non-finite PPO loss or gradient in " + badInARow + " updates in a row (last at iteration " + (it + 1)
                        + ", epoch " + (epoch + 1) + ", minibatch " + (minibatch + 1) + "); the limit is train.maxBadSteps = " + maxBadSteps
                        + ". Lower ppo.policyLr / ppo.criticLr or check the reward");
            return new Update(stats, ptxStats, true);
        }
        badInARow = 0;
        policyOpt.step(policy.parameters(), policyGrads);
        criticOpt.step(critic.parameters(), criticGrads);
        return new Update(stats, ptxStats, false);
    }

    private Report report(BatchStats b, Learning l, double beta, double seconds) {
        double sampling = b.samplingNanos() / 1e9, scoring = b.scoringNanos() / 1e9, training = l.trainingNanos / 1e9;
        double varY = b.returns().variance(), varR = b.residuals().variance(), tok = l.total.tokens();
        return new Report(iteration, b.scoreSum() / b.count(), b.klSum() / b.count(), beta, b.lengthSum() / b.count(), b.eosCount() / b.count(),
                l.total.policyLoss() / tok, l.total.valueLoss() / tok, l.total.entropy() / tok, l.total.approxKl() / tok,
                l.total.clipped() / tok, l.total.ratio() / tok, l.total.ratioMax(), varY > 0 ? 1 - varR / varY : Double.NaN,
                sampling, scoring, training, Math.max(0, seconds - sampling - scoring - training), seconds, tok / Math.max(1, epochs),
                l.ptxUpdates > 0 ? l.ptxLossSum / l.ptxUpdates : Double.NaN, l.skipped, b.samples());
    }

    /** A well-mixed seed from (run seed, iteration, partition, index). */
    static long mix(long seed, long a, long b, long c) {
        long h = seed;
        for (long v : new long[]{a, b, c}) {
            h ^= v + 0x9E3779B97F4A7C15L + (h << 6) + (h >>> 2);
            h *= 0xBF58476D1CE4E5B9L;
            h ^= h >>> 31;
        }
        return h;
    }

    /** The four models a PPO task uses, resident in an executor between jobs. */
    static final class Slot {
        private static final Map<String, ConcurrentLinkedQueue<Slot>> IDLE = new ConcurrentHashMap<>();
        final Gpt policy, critic, reference, rewardModel;
        final Parameters policyGrads, criticGrads;
        long version = -1;

        private Slot(Static s) {
            policy = Gpt.init(s.policyCfg(), DType.FLOAT32, 0);
            critic = Gpt.init(s.criticCfg(), DType.FLOAT32, 0);
            reference = Gpt.init(s.policyCfg(), DType.FLOAT32, 0);
            reference.parameters().flat().copyFromFloatBytes(s.reference());
            rewardModel = s.rewardCfg() == null ? null : Gpt.init(s.rewardCfg(), DType.FLOAT32, 0);
            if (rewardModel != null) rewardModel.parameters().flat().copyFromFloatBytes(s.rewardModel());
            policyGrads = policy.newGradients();
            criticGrads = critic.newGradients();
        }

        static Slot borrow(Static s, Live live) {
            TaskSetup.begin(1);
            IDLE.keySet().removeIf(run -> !run.equals(s.runId()));
            Slot slot = IDLE.computeIfAbsent(s.runId(), k -> new ConcurrentLinkedQueue<>()).poll();
            if (slot == null) slot = new Slot(s);
            if (slot.version != live.version()) {
                slot.policy.parameters().flat().copyFromFloatBytes(live.policy());
                slot.critic.parameters().flat().copyFromFloatBytes(live.critic());
                slot.version = live.version();
            }
            return slot;
        }

        static void release(String run, Slot slot) {
            IDLE.computeIfAbsent(run, k -> new ConcurrentLinkedQueue<>()).add(slot);
        }
    }

}
