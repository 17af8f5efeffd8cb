package org.sparkrlhf.engine;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.sparkrlhf.sampling.SeededPermutation;

/**
 * One partition's training examples, cached on its executor. Each epoch visits them in an order
 * fixed by (seed, epoch, partition), so any step's slice can be recomputed anywhere: a retried task
 * or a resumed run sees the same examples.
 */
final class ExampleBlock<E> implements Serializable {
    final int partition;
    final List<E> examples;

    ExampleBlock(int partition, List<E> examples) {
        this.partition = partition;
        this.examples = examples;
    }

    /** The {@code perStep} examples of {@code step}, for an epoch of {@code stepsPerEpoch} steps. */
    List<E> slice(long seed, long step, int perStep, long stepsPerEpoch) {
        long epoch = step / stepsPerEpoch;
        int offset = (int) (step % stepsPerEpoch) * perStep;
        int[] order = SeededPermutation.of(examples.size(), seed * 1_000_003L + epoch * 7919L + partition);
        List<E> out = new ArrayList<>(perStep);
        for (int i = 0; i < perStep; i++) out.add(examples.get(order[offset + i]));
        return out;
    }
}
