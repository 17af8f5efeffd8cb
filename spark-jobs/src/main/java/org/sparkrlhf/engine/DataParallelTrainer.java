package org.sparkrlhf.engine;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import org.apache.spark.HashPartitioner;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.optim.AdamW;
import org.sparkrlhf.training.Objective;
import org.sparkrlhf.training.StepStats;
import scala.Tuple2;

/**
 * Synchronous data-parallel training. The driver owns the parameters and the optimizer; each step
 * it broadcasts the parameters, every partition sums the gradient of its share of the global batch
 * on a resident model, the driver adds the shards up in partition order (so the sum, and therefore
 * training, is bit-for-bit reproducible whichever executor ran what), divides by the batch's count
 * and applies AdamW.
 */
public final class DataParallelTrainer<E> {

    /**
     * @param globalBatch     examples per optimizer step, a multiple of the partition count
     * @param microBatch      examples per forward/backward pass inside a task
     * @param seed            fixes the data order
     * @param maxBadSteps     non-finite gradients in a row tolerated before the run stops
     * @param threadsPerTask  kernel threads per task (spark.task.cpus)
     * @param reduceFanIn     with more partitions than this, gradients are summed on executors in
     *                        groups of this many (a deterministic tree) before the driver adds the
     *                        group sums; 0 lets the driver sum every shard
     */
    public record Settings(int globalBatch, int microBatch, long seed, int maxBadSteps, int threadsPerTask, int reduceFanIn) {
        public Settings(int globalBatch, int microBatch, long seed, int maxBadSteps, int threadsPerTask) {
            this(globalBatch, microBatch, seed, maxBadSteps, threadsPerTask, 16);
        }

        public Settings {
            if (reduceFanIn < 0 || reduceFanIn == 1) throw new IllegalArgumentException("reduceFanIn must be 0 (driver sums) or >= 2, got " + reduceFanIn);
            if (globalBatch < 1) throw new IllegalArgumentException("globalBatch must be >= 1, got " + globalBatch);
            if (microBatch < 1) throw new IllegalArgumentException("microBatch must be >= 1, got " + microBatch);
            if (maxBadSteps < 0) throw new IllegalArgumentException("maxBadSteps must be >= 0, got " + maxBadSteps);
            if (threadsPerTask < 1) throw new IllegalArgumentException("threadsPerTask must be >= 1, got " + threadsPerTask);
        }
    }

    private final JavaSparkContext jsc;
    private final Gpt model;
    private final AdamW optimizer;
    private final Objective<E> objective;
    private final ShardedData<E> data;
    private final Settings settings;
    private final Parameters grads;
    private final String runId = UUID.randomUUID().toString();
    private final long stepsPerEpoch;
    private long badInARow, skippedTotal;

    public DataParallelTrainer(JavaSparkContext jsc, Gpt model, AdamW optimizer, Objective<E> objective,
                               ShardedData<E> data, Settings settings) {
        if (settings.globalBatch() % data.partitions() != 0)
            throw new IllegalArgumentException("globalBatch (" + settings.globalBatch() + ") must be a multiple of the number of data partitions ("
                    + data.partitions() + "); change train.globalBatch or train.partitions");
        this.stepsPerEpoch = data.stepsPerEpoch(settings.globalBatch());
        if (stepsPerEpoch < 1)
            throw new IllegalArgumentException("too little data: a partition holds " + data.minBlockSize + " examples but a step takes "
                    + settings.globalBatch() / data.partitions() + " from each; lower train.globalBatch or add data");
        this.jsc = jsc;
        this.model = model;
        this.optimizer = optimizer;
        this.objective = objective;
        this.data = data;
        this.settings = settings;
        this.grads = model.newGradients();
    }

    public long stepsPerEpoch() {
        return stepsPerEpoch;
    }

    public long step() {
        return optimizer.stepCount();
    }

    public long skippedSteps() {
        return skippedTotal;
    }

    /** Restores the counters a checkpoint keeps beside the parameters and optimizer. */
    public void restoreCounters(long skipped) {
        this.skippedTotal = skipped;
    }

    /**
     * The first level of a deterministic tree: shards grouped by partition index (fanIn per group),
     * each group summed on an executor in partition order. A large model's gradients from hundreds
     * of partitions would not fit through the driver one by one.
     */
    private static List<ShardResult> treeSum(JavaRDD<ShardResult> results, int fanIn) {
        int groups = (results.getNumPartitions() + fanIn - 1) / fanIn;
        return results.mapToPair(r -> new Tuple2<>(r.partition() / fanIn, r))
                .groupByKey(new HashPartitioner(groups))
                .map(g -> {
                    List<ShardResult> members = new ArrayList<>();
                    g._2().forEach(members::add);
                    members.sort((a, b) -> Integer.compare(a.partition(), b.partition()));
                    StepStats stats = members.get(0).stats();
                    for (int i = 1; i < members.size(); i++) stats = stats.plus(members.get(i).stats());
                    return new ShardResult(g._1(), GradientSum.sumBytes(members.stream().map(ShardResult::gradient).toList()), stats);
                }).collect();
    }

    /** Runs one synchronous step (an attempt: a non-finite gradient is skipped and counted). */
    public StepReport runStep() {
        long t0 = System.nanoTime();
        long step = optimizer.stepCount() + skippedTotal; // data position: skipped steps consume their batch too
        Broadcast<ParamSnapshot> params = jsc.broadcast(new ParamSnapshot(runId, step, model.config(), model.parameters().flat().toFloatBytes()));
        Objective<E> obj = objective;
        int perPartition = settings.globalBatch() / data.partitions(), micro = settings.microBatch(), threads = settings.threadsPerTask();
        long seed = settings.seed(), epochSteps = stepsPerEpoch;
        JavaRDD<ShardResult> results = data.blocks.mapPartitions(it -> {
            ExampleBlock<E> block = it.next();
            List<E> mine = block.slice(seed, step, perPartition, epochSteps);
            ParamSnapshot snap = params.value();
            ResidentModels.Slot slot = ResidentModels.borrow(snap, threads);
            try {
                slot.grads.flat().zero();
                StepStats stats = obj.accumulate(slot.model, mine, micro, slot.grads);
                return Collections.singletonList(new ShardResult(block.partition, slot.grads.flat().toFloatBytes(), stats)).iterator();
            } finally {
                ResidentModels.release(snap.runId(), slot);
            }
        });
        int fanIn = settings.reduceFanIn();
        List<ShardResult> shards = new ArrayList<>(fanIn > 1 && data.partitions() > fanIn ? treeSum(results, fanIn) : results.collect());
        params.unpersist(false);

        shards.sort((a, b) -> Integer.compare(a.partition(), b.partition()));
        StepStats stats = shards.get(0).stats();
        for (int p = 1; p < shards.size(); p++) stats = stats.plus(shards.get(p).stats());
        boolean finite = GradientSum.sum(shards.stream().map(ShardResult::gradient).toList(), (float) (1.0 / stats.count()), grads);

        double accuracy = stats.correct() / stats.count(); // NaN for objectives without pairs
        if (!finite || !Double.isFinite(stats.lossSum())) {
            badInARow++;
            skippedTotal++;
            if (badInARow > settings.maxBadSteps())
                throw new TrainingDiverged("non-finite loss or gradient in " + badInARow + " steps in a row (last at data step " + step
                        + "); the limit is train.maxBadSteps = " + settings.maxBadSteps() + ". Lower the learning rate or check the data.");
            return new StepReport(optimizer.stepCount(), stats.meanLoss(), stats.count(), accuracy, Double.NaN,
                    Double.NaN, true, System.nanoTime() - t0, stats.computeNanos());
        }
        badInARow = 0;
        AdamW.StepInfo info = optimizer.step(model.parameters(), grads);
        return new StepReport(info.step(), stats.meanLoss(), stats.count(), accuracy, info.gradNorm(), info.lr(), false,
                System.nanoTime() - t0, stats.computeNanos());
    }

}
