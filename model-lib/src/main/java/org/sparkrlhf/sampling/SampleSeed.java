package org.sparkrlhf.sampling;

/**
 * The sampling seed of one (prompt, sample) pair under a run seed. It depends on nothing else, so
 * a sequence draws the same tokens however prompts are partitioned or batched, and on a rerun.
 */
public final class SampleSeed {
    private SampleSeed() {}

    public static long of(long seed, long prompt, int sample) {
        long h = seed * 0x9E3779B97F4A7C15L + prompt * 0xC2B2AE3D27D4EB4FL + sample * 0x165667B19E3779F9L;
        h ^= h >>> 29;
        return h * 0xBF58476D1CE4E5B9L;
    }
}
