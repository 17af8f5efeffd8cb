package org.sparkrlhf.training;

import java.util.List;
import org.sparkrlhf.model.Batch;

/**
 * Language-model examples laid out for one pass: inputs [B, T] (right-padded to the longest), the
 * next token as each cell's target, weight 1 where that target is trained on, and their count. The
 * same layout feeds the CPU model and the GPU one. With nothing to train on ({@code count == 0})
 * there is no batch (null): callers skip it.
 */
public record LmMicroBatch(Batch batch, int[] targets, double[] weights, int count) {

    public static LmMicroBatch of(List<LmExample> examples) {
        int len = 0;
        for (LmExample e : examples) len = Math.max(len, e.tokens().length - 1);
        int bsz = examples.size(), n = bsz * len, count = 0;
        int[] inputs = new int[n], targets = new int[n], start = new int[bsz], end = new int[bsz];
        double[] weights = new double[n];
        for (int b = 0; b < bsz; b++) {
            LmExample e = examples.get(b);
            end[b] = e.tokens().length - 1; // right padding after it
            for (int i = 0; i < end[b]; i++) {
                inputs[b * len + i] = e.tokens()[i];
                targets[b * len + i] = e.tokens()[i + 1];
                if (e.target()[i + 1]) {
                    weights[b * len + i] = 1;
                    count++;
                }
            }
        }
        return new LmMicroBatch(count == 0 ? null : new Batch(inputs, bsz, len, start, end), targets, weights, count);
    }

    public float[] floatWeights() {
        float[] w = new float[weights.length];
        for (int i = 0; i < w.length; i++) w[i] = (float) weights[i];
        return w;
    }
}
