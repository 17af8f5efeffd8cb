package org.sparkrlhf.cuda;

import java.util.Arrays;

/**
 * The cells of a batch grouped by the embedding row they read (token or position), in ascending
 * cell order: the embedding-gradient kernel gives each row one block that sums its cells in this
 * order, so the sum is the same on every run (atomics would not be).
 *
 * @param ids     the distinct row ids, ascending
 * @param offsets group u's cells are cells[offsets[u] .. offsets[u+1])
 * @param cells   cell indices, grouped
 */
public record EmbeddingGroups(int[] ids, int[] offsets, int[] cells) {

    public static EmbeddingGroups of(int[] rowOfCell) {
        int n = rowOfCell.length;
        long[] keyed = new long[n]; // (row << 32 | cell) sorts by row, then cell
        for (int i = 0; i < n; i++) keyed[i] = ((long) rowOfCell[i] << 32) | i;
        Arrays.sort(keyed);
        int[] cells = new int[n], ids = new int[n], offsets = new int[n + 1];
        int groups = 0;
        for (int i = 0; i < n; i++) {
            cells[i] = (int) keyed[i];
            int row = (int) (keyed[i] >>> 32);
            if (i == 0 || row != ids[groups - 1]) {
                ids[groups] = row;
                offsets[groups] = i;
                groups++;
            }
        }
        offsets[groups] = n;
        return new EmbeddingGroups(Arrays.copyOf(ids, groups), Arrays.copyOf(offsets, groups + 1), cells);
    }

    public int groups() {
        return ids.length;
    }

    /** Queues table[ids[u]] += sum of dout rows of group u, for every group. */
    public void scatter(CudaDevice dev, CudaKernels k, DeviceMemory table, DeviceMemory dout, int d,
                        DeviceMemory idsBuf, DeviceMemory offsetsBuf, DeviceMemory cellsBuf) {
        dev.upload(idsBuf, ids);
        dev.upload(offsetsBuf, offsets);
        dev.upload(cellsBuf, cells);
        k.launch("embedding_backward", groups(), 1, 256, 1, 0, table, dout, offsetsBuf, cellsBuf, idsBuf, d);
    }
}
