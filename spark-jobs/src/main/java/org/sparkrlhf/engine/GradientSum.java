package org.sparkrlhf.engine;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.sparkrlhf.model.Parameters;

/**
 * The driver's half of an all-reduce: shards' gradients (little-endian float bytes, already in
 * partition order) added up in that order, so the sum is the same bit for bit whichever executor
 * computed what.
 */
final class GradientSum {
    private GradientSum() {}

    /** into = scale * sum(shards); returns whether every element is finite. */
    static boolean sum(List<byte[]> shards, float scale, Parameters into) {
        int n = into.flat().size();
        float[] sum = new float[n], g = new float[n];
        for (byte[] s : shards) {
            ByteBuffer.wrap(s).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(0, g);
            for (int i = 0; i < n; i++) sum[i] += g[i];
        }
        boolean finite = true;
        for (int i = 0; i < n; i++) {
            sum[i] *= scale;
            finite &= Float.isFinite(sum[i]);
        }
        into.flat().copyFrom(sum, 0);
        return finite;
    }
}
