package org.sparkrlhf.bench;

/**
 * What a synchronous data-parallel step costs on N executors, from a few measured rates: the
 * ring all-reduce among executors (this engine) against gradients gathered and summed by the
 * driver (the previous engine). Weak scaling: every rank trains the same number of tokens per
 * step, so a perfect system keeps the step time of one rank.
 *
 * <p>Assumptions: compute is 6 FLOPs per parameter per token at the executor's achieved rate; a
 * ring hop costs a latency plus bytes over the slower of the link and the ring's own copy rate; the
 * driver's network link is as fast as an executor's; a broadcast reaches N executors in log2(N+1)
 * rounds; the driver sums gradients at memory speed and runs one AdamW; stage start and end (the
 * state to the driver for the checkpoint) are spread over a checkpoint interval.
 *
 * @param flopsPerSecond     an executor's achieved training FLOP/s
 * @param ringBytesPerSecond the ring's own copy rate per rank (its bus bandwidth on one host: CPU-bound)
 * @param hopLatencySeconds  one ring hop's latency over the network
 * @param adamSecondsPerParam AdamW's time per parameter on a rank
 * @param jobSeconds         a Spark job's fixed cost (the old engine pays it every step)
 * @param stageSeconds       a barrier stage's fixed cost (start and end)
 * @param memoryBytesPerSecond the driver's summing rate
 * @param checkpointEvery    steps per stage
 */
public record CostModel(double flopsPerSecond, double ringBytesPerSecond, double hopLatencySeconds, double adamSecondsPerParam,
                        double jobSeconds, double stageSeconds, double memoryBytesPerSecond, int checkpointEvery) {

    /** One step's time split: compute, communication, everything else. */
    public record Step(double compute, double communication, double other) {
        public double total() {
            return compute + communication + other;
        }
    }

    public double computeSeconds(double params, double tokensPerRank) {
        return 6 * params * tokensPerRank / flopsPerSecond;
    }

    /** This engine: the ring all-reduce among N ranks, every rank's AdamW, the stage's cost spread over its steps. */
    public Step ring(double params, double tokensPerRank, int n, double linkBytesPerSecond) {
        double bytes = 4 * params, bw = Math.min(linkBytesPerSecond, ringBytesPerSecond);
        double comm = n == 1 ? 0 : 2.0 * (n - 1) * hopLatencySeconds + 2.0 * (n - 1) / n * bytes / bw;
        double stage = (stageSeconds + 3 * bytes / linkBytesPerSecond) / checkpointEvery; // rank 0's state to the driver
        return new Step(computeSeconds(params, tokensPerRank), comm, adamSecondsPerParam * params + stage);
    }

    /** The old engine: a job per step, parameters broadcast, N gradients through the driver's link, summed and applied there. */
    public Step driver(double params, double tokensPerRank, int n, double linkBytesPerSecond) {
        double bytes = 4 * params;
        double broadcast = bytes / linkBytesPerSecond * Math.ceil(Math.log(n + 1) / Math.log(2));
        double gather = n * bytes / linkBytesPerSecond, sum = n * bytes / memoryBytesPerSecond;
        return new Step(computeSeconds(params, tokensPerRank), broadcast + gather, jobSeconds + sum + adamSecondsPerParam * params);
    }

    /** Weak-scaling efficiency: one rank's step time over N ranks' step time. */
    public static double efficiency(Step one, Step n) {
        return one.total() / n.total();
    }
}
