package org.sparkrlhf.engine;

import java.io.Serializable;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.zip.CRC32C;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.sparkrlhf.collective.Collective;
import org.sparkrlhf.collective.TcpRing;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.optim.AdamW;
import org.sparkrlhf.tensor.Tensor;
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

    /** Called on every rank after each step (tests use it to cause a fault at a chosen rank, step and attempt). */
    @FunctionalInterface
    public interface RankHook extends Serializable {
        void afterStep(int rank, long step, int attempt);
    }

    /**
     * @param globalBatch       examples per optimizer step, a multiple of the number of ranks
     * @param microBatch        examples per forward/backward pass inside a rank
     * @param seed              fixes the data order
     * @param maxBadSteps       non-finite gradients in a row tolerated before the run stops
     * @param threadsPerTask    kernel threads per rank (spark.task.cpus)
     * @param collectiveTimeout how long a rank waits for another before the stage fails naming it
     * @param stageRetries      how often a failed stage is run again before the run stops
     * @param hook              null, or a test's fault injection
     */
    public record Settings(int globalBatch, int microBatch, long seed, int maxBadSteps, int threadsPerTask, Duration collectiveTimeout,
                           int stageRetries, RankHook hook) implements Serializable {
        public Settings {
            if (globalBatch < 1) throw new IllegalArgumentException("globalBatch must be >= 1, got " + globalBatch);
            if (microBatch < 1) throw new IllegalArgumentException("microBatch must be >= 1, got " + microBatch);
            if (maxBadSteps < 0) throw new IllegalArgumentException("maxBadSteps must be >= 0, got " + maxBadSteps);
            if (threadsPerTask < 1) throw new IllegalArgumentException("threadsPerTask must be >= 1, got " + threadsPerTask);
            if (stageRetries < 0) throw new IllegalArgumentException("stageRetries must be >= 0, got " + stageRetries);
        }
    }

    private final JavaSparkContext jsc;
    private final Gpt model;
    private final AdamW optimizer;
    private final Objective<E> objective;
    private final ShardedData<E> data;
    private final Settings settings;
    private final String runId = UUID.randomUUID().toString();
    private final long stepsPerEpoch;
    private final List<String> retried = new ArrayList<>();
    private long skippedTotal, badInARow;

    public BarrierTrainer(JavaSparkContext jsc, Gpt model, AdamW optimizer, Objective<E> objective, ShardedData<E> data, Settings settings) {
        if (settings.globalBatch() % data.partitions() != 0)
            throw new IllegalArgumentException("globalBatch (" + settings.globalBatch() + ") must be a multiple of the number of data partitions ("
                    + data.partitions() + "); change train.globalBatch or train.partitions");
        this.stepsPerEpoch = data.stepsPerEpoch(settings.globalBatch());
        if (stepsPerEpoch < 1)
            throw new IllegalArgumentException("too little data: a partition holds " + data.minBlockSize + " examples but a step takes "
                    + settings.globalBatch() / data.partitions() + " from each; lower train.globalBatch or add data");
        BarrierStage.requireSlots(jsc.sc(), data.partitions(), 60_000);
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
        return Collections.unmodifiableList(retried);
    }

    /**
     * Trains until the optimizer reaches {@code endStep}, as one barrier stage (run again from its
     * start if it fails, up to {@code stageRetries} times). {@code live} sees each step as rank 0
     * finishes it (on another thread); the returned reports are the record.
     */
    public List<StepReport> runStage(long endStep, Consumer<StepReport> live) {
        StageStart start = StageStart.of(runId, model, optimizer, skippedTotal, badInARow);
        for (int attempt = 0; ; attempt++) {
            if (attempt > 0) BarrierStage.requireSlots(jsc.sc(), data.partitions(), 120_000); // a lost executor's replacement registers first
            try (StageTracker tracker = new StageTracker(jsc.getConf().get("spark.driver.host"), data.partitions(), live)) {
                return finish(submit(start, endStep, attempt, tracker.address()));
            } catch (TrainingDiverged e) {
                throw e;
            } catch (Exception e) { // Spark's job failure is a checked SparkException that Java does not see declared
                String reason = reason(e);
                if (attempt >= settings.stageRetries())
                    throw new StageFailed("the training stage for steps " + (start.optimizerStep() + 1) + "-" + endStep + " failed " + (attempt + 1)
                            + " time(s), the limit (train.stageRetries = " + settings.stageRetries() + "); last: " + reason, e);
                retried.add(reason);
                System.err.printf("training stage for steps %d-%d failed (attempt %d of %d): %s; running it again from step %d%n",
                        start.optimizerStep() + 1, endStep, attempt + 1, settings.stageRetries() + 1, reason, start.optimizerStep());
            }
        }
    }

    private List<RankResult> submit(StageStart start, long endStep, int attempt, String trackerAddress) {
        Broadcast<StageStart> state = jsc.broadcast(start);
        try {
            Objective<E> obj = objective;
            Settings s = settings;
            String run = runId;
            long position = start.position(), epochSteps = stepsPerEpoch;
            int perRank = settings.globalBatch() / data.partitions();
            JavaRDD<RankResult> ranks = BarrierStage.mapPartitions(data.blocks, (it, ctx) -> {
                ExampleBlock<E> block = it.next();
                int rank = ctx.partitionId(), size = ctx.getTaskInfos().length;
                TaskSetup.begin(s.threadsPerTask());
                ResidentReplicas.Replica replica = ResidentReplicas.borrow(run, rank, position, state::value);
                List<StepReport> steps = new ArrayList<>();
                String diverged = null;
                StageTracker.Member[] member = new StageTracker.Member[1];
                try (Collective ring = TcpRing.connect(rank, size, host(ctx.getTaskInfos()[rank].address()), address -> {
                    member[0] = StageTracker.Member.join(trackerAddress, rank, address, s.collectiveTimeout());
                    return member[0].addresses();
                }, s.collectiveTimeout()); StageTracker.Member feed = member[0]) {
                    while (replica.optimizer.stepCount() < endStep && diverged == null) {
                        StepReport r = step(replica, block, ring, obj, s, perRank, epochSteps);
                        if (replica.badInARow > s.maxBadSteps())
                            diverged = "non-finite loss or gradient in " + replica.badInARow + " steps in a row (last at data step " + (replica.position() - 1)
                                    + "); the limit is train.maxBadSteps = " + s.maxBadSteps() + ". Lower the learning rate or check the data.";
                        if (rank == 0) {
                            steps.add(r);
                            feed.report(r);
                        }
                        if (s.hook() != null) s.hook().afterStep(rank, replica.optimizer.stepCount(), attempt);
                    }
                }
                String digest = digest(replica.model.parameters().flat());
                ResidentReplicas.release(run, rank, replica);
                return List.of(new RankResult(rank, digest, rank == 0 ? (diverged == null ? replica.snapshot(run) : null) : null,
                        rank == 0 ? steps : List.of(), diverged)).iterator();
            });
            return ranks.collect();
        } finally {
            state.unpersist(false);
        }
    }

    /** One optimizer step on a rank: its shard's gradient, the sums across ranks, the update (or a skip every rank agrees on). */
    private static <E> StepReport step(ResidentReplicas.Replica r, ExampleBlock<E> block, Collective ring, Objective<E> obj, Settings s,
                                       int perRank, long epochSteps) {
        long t0 = System.nanoTime();
        List<E> mine = block.slice(s.seed(), r.position(), perRank, epochSteps);
        r.grads.flat().zero();
        StepStats local = obj.accumulate(r.model, mine, s.microBatch(), r.grads);
        int n = r.buffer.length;
        r.grads.flat().read(0, r.buffer, 0, n);
        double[][] all = ring.allReduceSum(r.buffer, new double[]{local.lossSum(), local.count(), local.correct(), local.computeNanos()});
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
            r.buffer[i] *= scale;
            finite &= Float.isFinite(r.buffer[i]);
        }
        double loss = count > 0 ? lossSum / count : Double.NaN, accuracy = correct / count;
        if (!finite) {
            r.badInARow++;
            r.skippedTotal++;
            return new StepReport(r.optimizer.stepCount(), loss, count, accuracy, Double.NaN, Double.NaN, true, System.nanoTime() - t0, (long) slowest);
        }
        r.badInARow = 0;
        r.grads.flat().write(0, r.buffer, 0, n);
        AdamW.StepInfo info = r.optimizer.step(r.model.parameters(), r.grads);
        return new StepReport(info.step(), loss, count, accuracy, info.gradNorm(), info.lr(), false, System.nanoTime() - t0, (long) slowest);
    }

    /** Checks that every replica ended identical, takes rank 0's state, and returns the stage's steps. */
    private List<StepReport> finish(List<RankResult> results) {
        RankResult first = results.stream().filter(r -> r.rank() == 0).findFirst().orElseThrow();
        for (RankResult r : results)
            if (!r.parameterDigest().equals(first.parameterDigest()))
                throw new IllegalStateException("replicas diverged: rank " + r.rank() + " ended the stage with parameters " + r.parameterDigest()
                        + ", rank 0 with " + first.parameterDigest());
        if (first.diverged() != null) throw new TrainingDiverged(first.diverged());
        StageStart end = first.end();
        end.loadInto(model, optimizer);
        skippedTotal = end.skippedTotal();
        badInARow = end.badInARow();
        return first.steps();
    }

    /** The host of a barrier task's "host:port" address: the rank listens there for its ring neighbour. */
    static String host(String address) {
        int colon = address.lastIndexOf(':');
        return colon > 0 && address.substring(colon + 1).matches("\\d+") ? address.substring(0, colon) : address;
    }

    static String digest(Tensor t) {
        CRC32C crc = new CRC32C();
        crc.update(ByteBuffer.wrap(t.toFloatBytes()));
        return Long.toHexString(crc.getValue()) + "/" + t.size();
    }

    /** What went wrong, as Spark reports a failed stage: its reason's lines up to any stack trace, on one line. */
    private static String reason(Throwable e) {
        String m = String.valueOf(e.getMessage());
        int at = m.indexOf("Most recent failure reason:");
        if (at >= 0) m = m.substring(at + "Most recent failure reason:".length());
        String text = m.lines().map(String::strip).takeWhile(l -> !l.startsWith("at ")).filter(l -> !l.isEmpty())
                .collect(java.util.stream.Collectors.joining(" "));
        return text.length() > 500 ? text.substring(0, 500) + "..." : text;
    }

    /** A stage that kept failing after its retries. */
    public static final class StageFailed extends RuntimeException {
        StageFailed(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
