package org.sparkrlhf.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class AttentionPlanTest {

    @Test
    void chunksCoverEveryQueryAndReadOnlyKeysUpToTheirLastQuery() {
        AttentionPlan p = new AttentionPlan(10, 4);
        List<AttentionPlan.Chunk> c = p.chunks();
        assertEquals(3, c.size());
        assertEquals(new AttentionPlan.Chunk(0, 4, 0), c.get(0));
        assertEquals(new AttentionPlan.Chunk(4, 8, 16), c.get(1));       // after a 4x4 block
        assertEquals(new AttentionPlan.Chunk(8, 10, 16 + 32), c.get(2)); // after a 4x8 block
        assertEquals(16 + 32 + 20, p.cellsPerHead());
        assertEquals(32, p.maxChunkCells());
    }

    @Test
    void gpt2ContextIn128QueryChunksStoresAboutHalfTheFullMatrix() {
        AttentionPlan p = new AttentionPlan(1024, 128);
        assertEquals(8, p.chunks().size());
        assertEquals(0.5625, p.fractionOfFull(), 1e-12); // 36 blocks of 128^2 out of 64
        assertEquals(128L * 1024, p.maxChunkCells());
        assertEquals(1.0, new AttentionPlan(12, 12).fractionOfFull(), 1e-12);
    }

    @Test
    void rejectsEmptyShapes() {
        assertThrows(IllegalArgumentException.class, () -> new AttentionPlan(0, 4));
        assertThrows(IllegalArgumentException.class, () -> new AttentionPlan(8, 0));
    }
}
