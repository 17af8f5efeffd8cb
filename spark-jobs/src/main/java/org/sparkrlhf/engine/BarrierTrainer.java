package org.sparkrlhf.engine;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.sparkrlhf.collective.Collective;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.optim.AdamW;
import org.sparkrlhf.cuda.CudaReplica;
import org.sparkrlhf.training.LanguageModelObjective;
import org.sparkrlhf.training.LmExample;
import org.sparkrlhf.training.Objective;
import org.sparkrlhf.training.StepStats;

/**
 * Synchronous data-parallel training as Spark barrier stages. A stage runs many optimizer steps:
 * each task is a rank that keeps its data shard, a model replica and an AdamW replica; every step
 * it computes the gradient of its share of the global batch, the ranks sum gradients and a few
 * statistics among themselves ({@link Collective}, a ring over TCP), and every rank applies the
 * same update, so the replicas stay identical bit for bit (each rank returns a digest, and the
 * driver checks them). The driver only starts stages and takes rank 0's state at each stage's end,
 * for the checkpoint. A stage that fails (a lost executor, a rank that stopped answering) is run
 * again from its start, so the run ends exactly as an undisturbed one would.
 */
public final class BarrierTrainer<E> {

    /**
     * @param globalBatch examples per optimizer step, a multiple of the number of ranks
     * @param microBatch  examples per forward/backward pass inside a rank
     * @param seed        fixes the data order
     * @param maxBadSteps non-finite gradients in a row tolerated before the run stops
     * @param stages      how barrier stages run (threads, collective timeout, retries)
     * @param cuda        ranks keep their replica on their GPU (model.device: cuda): the language-model objective only so far
     */
    public record Settings(int globalBatch, int microBatch, long seed, int maxBadSteps, StageSettings stages, boolean cuda) implements Serializable {
        /** On the CPU backend. */
        public Settings(int globalBatch, int microBatch, long seed, int maxBadSteps, StageSettings stages) {
            this(globalBatch, microBatch, seed, maxBadSteps, stages, false);
        }

        public Settings {
            if (globalBatch < 1) throw new IllegalArgumentException("globalBatch must be >= 1, got " + globalBatch);
            if (microBatch < 1) throw new IllegalArgumentException("microBatch must be >= 1, got " + microBatch);
            if (maxBadSteps < 0) throw new IllegalArgumentException("maxBadSteps must be >= 0, got " + maxBadSteps);
        }
    }

    private final JavaSparkContext jsc;
    private final Gpt model;
    private final AdamW optimizer;
    private final Objective<E> objective;
    private final ShardedData<E> data;
    private final Settings settings;
    private final StageRunner runner;
    private final String runId = UUID.randomUUID().toString();
    private final long stepsPerEpoch;
    private long skippedTotal, badInARow;

    public BarrierTrainer(JavaSparkContext jsc, Gpt model, AdamW optimizer, Objective<E> objective, ShardedData<E> data, Settings settings) {
        if (settings.cuda() && !(objective instanceof LanguageModelObjective))
            throw new IllegalArgumentException("model.device: cuda trains language models (pretrain, sft) so far; train the reward model with model.device: cpu");
        if (settings.globalBatch() % data.partitions() != 0)
            throw new IllegalArgumentException("globalBatch (" + settings.globalBatch() + ") must be a multiple of the number of data partitions ("
                    + data.partitions() + "); change train.globalBatch or train.partitions");
        this.stepsPerEpoch = data.stepsPerEpoch(settings.globalBatch());
        if (stepsPerEpoch < 1)
            throw new IllegalArgumentException("too little data: a partition holds " + data.minBlockSize + " examples but a step takes "
                    + settings.globalBatch() / data.partitions() + " from each; lower train.globalBatch or add data");
        this.runner = new StageRunner(jsc, data.partitions(), settings.stages());
        this.jsc = jsc;
        this.model = model;
        this.optimizer = optimizer;
        this.objective = objective;
        this.data = data;
        this.settings = settings;
    }

    public long stepsPerEpoch() {
        return stepsPerEpoch;
    }

    public long skippedSteps() {
        return skippedTotal;
    }

    /** Restores the counters a checkpoint keeps beside the parameters and optimizer. */
    public void restoreCounters(long skipped) {
        this.skippedTotal = skipped;
    }

    /** The failures that made a stage run again, in order: what the driver saw. */
    public List<String> retried() {
        return runner.retried();
    }

    /**
     * Trains until the optimizer reaches {@code endStep}, as one barrier stage (run again from its
     * start if it fails, up to {@code stageRetries} times). {@code live} sees each step as rank 0
     * finishes it (on another thread); the returned reports are the record.
     */
    public List<StepReport> runStage(long endStep, Consumer<StepReport> live) {
        StageStart start = new StageStart(optimizer.stepCount() + skippedTotal, ReplicaState.of(model, optimizer), skippedTotal, badInARow);
        return runner.run("the training stage for steps " + (optimizer.stepCount() + 1) + "-" + endStep, "step " + optimizer.stepCount(), live,
                (attempt, tracker) -> finish(submit(start, endStep, attempt, tracker)));
    }

    /**
     * A rank's state between stages: its model replica (on the CPU, or on its GPU with model.device:
     * cuda), the gradient as the collective sums it, the skip counters.
     */
    static final class RankState implements ResidentReplicas.Resident {
        final Replica replica;     // CPU backend, else null
        final CudaReplica gpu;     // CUDA backend, else null
        private final org.sparkrlhf.model.GptConfig config;
        private final AdamW.Config optimizerConfig;
        final float[] buffer;
        long skippedTotal, badInARow;

        RankState(StageStart s, boolean cuda, int ordinal) {
            config = s.model().config();
            optimizerConfig = s.model().optimizer();
            replica = cuda ? null : new Replica(s.model());
            gpu = cuda ? s.model().openOnGpu(ordinal) : null;
            buffer = new float[cuda ? gpu.size() : replica.size()];
            skippedTotal = s.skippedTotal();
            badInARow = s.badInARow();
        }

        void load(StageStart s) {
            if (gpu != null) {
                gpu.bindThread();
                s.model().loadInto(gpu);
            } else {
                s.model().loadInto(replica.model, replica.optimizer);
            }
            skippedTotal = s.skippedTotal();
            badInARow = s.badInARow();
        }

        /** A stage's task thread differs from the last one's: the CUDA context follows it. */
        void bindThread() {
            if (gpu != null) gpu.bindThread();
        }

        long stepCount() {
            return gpu != null ? gpu.stepCount() : replica.optimizer.stepCount();
        }

        org.sparkrlhf.model.Parameters parameters() {
            return gpu != null ? gpu.parameters() : replica.model.parameters();
        }

        /** The data cursor: optimizer steps plus skipped steps (a skipped step consumed its batch too). */
        @Override
        public long position() {
            return stepCount() + skippedTotal;
        }

        StageStart snapshot() {
            ReplicaState state = gpu != null ? ReplicaState.of(gpu, config, optimizerConfig) : replica.state();
            return new StageStart(position(), state, skippedTotal, badInARow);
        }

        @Override
        public void close() {
            if (gpu != null) gpu.close();
        }
    }

    /**
     * What a rank returns: its parameters' digest, and from rank 0 only the state at the stage's end
     * and the stage's step reports; {@code diverged} says why the ranks stopped early (too many
     * non-finite steps), else null.
     */
    record Result(int rank, String parameterDigest, StageStart end, List<StepReport> steps, String diverged) implements RankResult {}

    private List<Result> submit(StageStart start, long endStep, int attempt, String trackerAddress) {
        Broadcast<StageStart> state = jsc.broadcast(start);
        try {
            Objective<E> obj = objective;
            Settings s = settings;
            String run = runId;
            long position = start.position(), epochSteps = stepsPerEpoch;
            int perRank = settings.globalBatch() / data.partitions();
            JavaRDD<Result> ranks = BarrierStage.mapPartitions(data.blocks, (it, ctx) -> {
                ExampleBlock<E> block = it.next();
                java.util.OptionalInt gpu = TaskSetup.begin(s.stages().threadsPerTask());
                RankState rs = ResidentReplicas.borrow(run, ctx.partitionId(), position, () -> new RankState(state.value(), s.cuda(), gpu.orElse(0)),
                        r -> r.load(state.value()));
                rs.bindThread();
                List<StepReport> steps = new ArrayList<>();
                String diverged = null;
                int rank;
                try (StageRunner.Rank links = StageRunner.Rank.join(ctx, trackerAddress, s.stages())) {
                    rank = links.rank();
                    while (rs.stepCount() < endStep && diverged == null) {
                        StepReport r = step(rs, block, links.ring(), obj, s, perRank, epochSteps);
                        if (rs.badInARow > s.maxBadSteps())
                            diverged = "non-finite loss or gradient in " + rs.badInARow + " steps in a row (last at data step " + (rs.position() - 1)
                                    + "); the limit is train.maxBadSteps = " + s.maxBadSteps() + ". Lower the learning rate or check the data.";
                        if (rank == 0) {
                            steps.add(r);
                            links.feed().report(r);
                        }
                        if (s.stages().hook() != null) s.stages().hook().afterUpdate(rank, rs.position(), attempt);
                    }
                } catch (RuntimeException | Error e) {
                    rs.close(); // a failed stage's state is never reused: free its GPU memory now
                    throw e;
                }
                String digest = RankResult.digest(rs.parameters().flat());
                ResidentReplicas.release(run, rank, rs);
                return List.of(new Result(rank, digest, rank == 0 ? (diverged == null ? rs.snapshot() : null) : null,
                        rank == 0 ? steps : List.of(), diverged)).iterator();
            });
            return ranks.collect();
        } finally {
            state.unpersist(false);
        }
    }

    /** One optimizer step on a rank: its shard's gradient, the sums across ranks, the update (or a skip every rank agrees on). */
    @SuppressWarnings("unchecked")
    private static <E> StepReport step(RankState rs, ExampleBlock<E> block, Collective ring, Objective<E> obj, Settings s, int perRank, long epochSteps) {
        long t0 = System.nanoTime();
        Replica r = rs.replica;
        List<E> mine = block.slice(s.seed(), rs.position(), perRank, epochSteps);
        StepStats local;
        int n = rs.buffer.length;
        if (rs.gpu != null) { // the gradient crosses to the host for the CPU collectives (NCCL would keep it on the device)
            rs.gpu.zeroGradients();
            local = rs.gpu.accumulate((List<LmExample>) mine, s.microBatch());
            rs.gpu.gradientsTo(rs.buffer);
        } else {
            r.grads.flat().zero();
            if (r.model.config().lora() != null) r.model.setDropoutSeed(dropoutSeed(s.seed(), rs.position(), ring.rank()));
            local = obj.accumulate(r.model, mine, s.microBatch(), r.grads);
            r.grads.flat().read(0, rs.buffer, 0, n);
        }
        double[][] all = ring.allReduceSum(rs.buffer, new double[]{local.lossSum(), local.count(), local.correct(), local.computeNanos()});
        double lossSum = 0, count = 0, correct = 0, slowest = 0;
        for (double[] v : all) { // rank order: the same sums on every rank
            lossSum += v[0];
            count += v[1];
            correct += v[2];
            slowest = Math.max(slowest, v[3]);
        }
        float scale = (float) (1.0 / count);
        boolean finite = Double.isFinite(lossSum);
        for (int i = 0; i < n; i++) {
            rs.buffer[i] *= scale;
            finite &= Float.isFinite(rs.buffer[i]);
        }
        double loss = count > 0 ? lossSum / count : Double.NaN, accuracy = correct / count;
        if (!finite) {
            rs.badInARow++;
            rs.skippedTotal++;
            return new StepReport(rs.stepCount(), loss, count, accuracy, Double.NaN, Double.NaN, true, System.nanoTime() - t0, (long) slowest);
        }
        rs.badInARow = 0;
        AdamW.StepInfo info;
        if (rs.gpu != null) {
            rs.gpu.gradientsFrom(rs.buffer);
            info = rs.gpu.step();
        } else {
            r.grads.flat().write(0, rs.buffer, 0, n);
            info = r.optimizer.step(r.model.trainable(), r.grads);
        }
        return new StepReport(info.step(), loss, count, accuracy, info.gradNorm(), info.lr(), false, System.nanoTime() - t0, (long) slowest);
    }

    /** LoRA dropout's seed for a rank's step: fixed by the run seed and the data position, so a rerun draws the same masks. */
    static long dropoutSeed(long seed, long position, int rank) {
        long h = seed * 0x9E3779B97F4A7C15L + position * 0xC2B2AE3D27D4EB4FL + rank * 0x165667B19E3779F9L;
        return h ^ (h >>> 31);
    }

    /** Checks that every replica ended identical, takes rank 0's state, and returns the stage's steps. */
    private List<StepReport> finish(List<Result> results) {
        Result first = RankResult.checkIdentical(results);
        if (first.diverged() != null) throw new TrainingDiverged(first.diverged());
        StageStart end = first.end();
        end.model().loadInto(model, optimizer);
        skippedTotal = end.skippedTotal();
        badInARow = end.badInARow();
        return first.steps();
    }
}
