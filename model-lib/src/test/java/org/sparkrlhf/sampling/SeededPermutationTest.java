package org.sparkrlhf.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Data order, PPO minibatches and the annotation app's shown order hang on this: it must not drift. */
class SeededPermutationTest {
    @Test
    void aPermutationFixedByItsSeedAcrossVersions() {
        int[] p = SeededPermutation.of(10, 42L);
        assertArrayEquals(new int[]{4, 6, 2, 1, 7, 9, 8, 5, 3, 0}, p, "the order runs and checkpoints were made with");
        int[] sorted = p.clone();
        Arrays.sort(sorted);
        assertArrayEquals(new int[]{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, sorted);
        assertFalse(Arrays.equals(p, SeededPermutation.of(10, 43L)), "another seed, another order");
        assertArrayEquals(new int[0], SeededPermutation.of(0, 1));
        assertArrayEquals(new int[]{0}, SeededPermutation.of(1, 1));
    }
}
