package org.sparkrlhf.cuda;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * How causal attention over T positions is cut into query chunks: chunk [r0, r1) of queries can only
 * read keys [0, r1), so its score matrix is (r1 - r0) x r1 and the products and the softmax skip the
 * upper triangle beyond the chunk. With 128-query chunks at T = 1024 that is 56% of the full T x T
 * matrix: memory traffic (the products with a 64-wide head dimension are bound by it) and storage
 * shrink alike. Chunk c's scores for all heads lie at {@link Chunk#offset} as [B*H, rows, r1].
 */
public final class AttentionPlan {

    /** Queries [r0, r1); {@code offset} counts elements per head before this chunk (times B*H in the buffer). */
    public record Chunk(int r0, int r1, long offset) {
        public int rows() {
            return r1 - r0;
        }

        public long cells() {
            return (long) rows() * r1;
        }
    }

    private final int t;
    private final List<Chunk> chunks;
    private final long cellsPerHead, maxChunkCells;

    public AttentionPlan(int t, int chunkRows) {
        if (t <= 0 || chunkRows <= 0) throw new IllegalArgumentException("need T > 0 and chunk rows > 0, got " + t + ", " + chunkRows);
        this.t = t;
        List<Chunk> list = new ArrayList<>();
        long off = 0, max = 0;
        for (int r0 = 0; r0 < t; r0 += chunkRows) {
            Chunk c = new Chunk(r0, Math.min(t, r0 + chunkRows), off);
            list.add(c);
            off += c.cells();
            max = Math.max(max, c.cells());
        }
        this.chunks = Collections.unmodifiableList(list);
        this.cellsPerHead = off;
        this.maxChunkCells = max;
    }

    public int length() {
        return t;
    }

    public List<Chunk> chunks() {
        return chunks;
    }

    /** Score elements per (batch row, head) over all chunks. */
    public long cellsPerHead() {
        return cellsPerHead;
    }

    /** The largest chunk's elements per head: the size of the backward pass's score-gradient scratch. */
    public long maxChunkCells() {
        return maxChunkCells;
    }

    /** This plan's share of the full T x T matrix. */
    public double fractionOfFull() {
        return cellsPerHead / ((double) t * t);
    }
}
