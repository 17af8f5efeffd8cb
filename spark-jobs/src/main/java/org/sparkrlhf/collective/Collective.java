package org.sparkrlhf.collective;

/**
 * Collective operations among the ranks of one training stage. Every rank calls the same
 * operations in the same order; each returns the same bits on every rank, run after run, whatever
 * the timing (the order of additions is fixed by the algorithm and the number of ranks alone).
 * The CPU build implements it with a TCP ring ({@link TcpRing}); a GPU build can put NCCL here.
 */
public interface Collective extends AutoCloseable {
    int rank();

    int size();

    /** Element-wise sum over all ranks, in place (bandwidth-optimal: reduce-scatter, then all-gather). */
    default void allReduceSum(float[] data) {
        allReduceSum(data, null);
    }

    /**
     * Sums {@code data} in place and gathers every rank's {@code small} values (indexed by rank;
     * none when null) in one operation: a training step's gradient and its statistics travel together.
     */
    double[][] allReduceSum(float[] data, double[] small);

    /** Every rank's {@code mine}, indexed by rank: for small values (loss sums, counts, flags, timings). */
    default double[][] allGather(double[] mine) {
        return allReduceSum(new float[0], mine); // the small values' way, with nothing to reduce
    }

    /** The element-wise sum of small values, added in rank order. */
    default double[] allReduceSum(double[] mine) {
        double[][] all = allGather(mine);
        double[] sum = new double[mine.length];
        for (double[] r : all) for (int i = 0; i < sum.length; i++) sum[i] += r[i];
        return sum;
    }

    /** Releases the connections; idempotent. */
    @Override
    void close();
}
