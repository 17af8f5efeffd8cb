package org.sparkrlhf.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;

class EmbeddingGroupsTest {

    @Test
    void cellsAreGroupedByRowInAscendingOrder() {
        int[] tokenOfCell = {7, 3, 7, 0, 3, 7};
        EmbeddingGroups g = EmbeddingGroups.of(tokenOfCell);
        assertArrayEquals(new int[] {0, 3, 7}, g.ids());
        assertArrayEquals(new int[] {0, 1, 3, 6}, g.offsets());
        assertArrayEquals(new int[] {3, 1, 4, 0, 2, 5}, g.cells()); // within a group, cells ascend: a fixed summation order
    }

    @Test
    void oneRowAndEmptyInputs() {
        assertArrayEquals(new int[] {0, 3}, EmbeddingGroups.of(new int[] {5, 5, 5}).offsets());
        assertArrayEquals(new int[] {0}, EmbeddingGroups.of(new int[0]).offsets());
    }
}
