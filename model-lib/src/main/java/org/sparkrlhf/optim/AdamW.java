package org.sparkrlhf.optim;

import org.sparkrlhf.model.ParameterLayout;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.tensor.FloatTensor;
import org.sparkrlhf.tensor.Parallel;
import org.sparkrlhf.tensor.Scratch;
import org.sparkrlhf.tensor.Tensor;

/**
 * AdamW (Loshchilov and Hutter) on a flat parameter buffer, after clipping the gradient's global L2
 * norm. Weight decay is decoupled and applies to matrices only (not biases or LayerNorm gains).
 * Its state (moments and step count) is what a checkpoint must save to resume exactly.
 */
public final class AdamW {

    /** Hyper-parameters, validated. */
    public record Config(LrSchedule schedule, double beta1, double beta2, double eps, double weightDecay, double maxGradNorm) implements java.io.Serializable {
        public Config {
            if (schedule == null) throw new IllegalArgumentException("AdamW needs a learning-rate schedule");
            if (!(beta1 >= 0 && beta1 < 1)) throw new IllegalArgumentException("AdamW beta1 must be in [0, 1), got " + beta1);
            if (!(beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("AdamW beta2 must be in [0, 1), got " + beta2);
            if (!(eps > 0)) throw new IllegalArgumentException("AdamW eps must be > 0, got " + eps);
            if (!(weightDecay >= 0)) throw new IllegalArgumentException("AdamW weightDecay must be >= 0, got " + weightDecay);
            if (!(maxGradNorm > 0)) throw new IllegalArgumentException("AdamW maxGradNorm must be > 0 (use Infinity for no clipping), got " + maxGradNorm);
        }

        public static Config defaults(LrSchedule schedule) {
            return new Config(schedule, 0.9, 0.95, 1e-8, 0.1, 1.0);
        }
    }

    /** What one step did. */
    public record StepInfo(long step, double lr, double gradNorm, boolean clipped) {}

    private final Config config;
    private final Tensor m, v;
    /** The decayed tensors as sorted, disjoint ranges [start, end) of the flat buffer (a full-size mask cost as much memory as the moments). */
    private final int[] decayStart, decayEnd;
    private long step;

    public AdamW(Config config, ParameterLayout layout, org.sparkrlhf.tensor.DType dtype) {
        this.config = config;
        this.m = Tensor.zeros(dtype, layout.size());
        this.v = Tensor.zeros(dtype, layout.size());
        java.util.List<int[]> ranges = new java.util.ArrayList<>();
        for (ParameterLayout.Entry e : layout.entries().values())
            if (e.decay() && e.shape().length >= 2) ranges.add(new int[] {e.offset(), e.offset() + e.size()});
        ranges.sort(java.util.Comparator.comparingInt(r -> r[0]));
        decayStart = ranges.stream().mapToInt(r -> r[0]).toArray();
        decayEnd = ranges.stream().mapToInt(r -> r[1]).toArray();
    }

    /**
     * Applies one update. The gradient must be finite: callers decide what a NaN step means (skip,
     * count, stop), so this throws rather than corrupting the parameters and moments.
     */
    public StepInfo step(Parameters params, Parameters grads) {
        Tensor p = params.flat(), g = grads.flat();
        if (p.size() != m.size() || g.size() != m.size())
            throw new IllegalArgumentException("AdamW state has " + m.size() + " entries, parameters " + p.size() + ", gradients " + g.size());
        double norm = Math.sqrt(g.sumOfSquares());
        if (!Double.isFinite(norm))
            throw new IllegalArgumentException("gradient norm is " + norm + " at step " + step + "; skip this update");
        double clipScale = norm > config.maxGradNorm() ? config.maxGradNorm() / (norm + 1e-6) : 1.0;
        double lr = config.schedule().at(step);
        step++;
        double b1 = config.beta1(), b2 = config.beta2();
        double c1 = 1 - Math.pow(b1, step), c2 = 1 - Math.pow(b2, step);
        double wd = lr * config.weightDecay(), eps = config.eps();
        if (p instanceof FloatTensor) {
            updateFloat(p, g, (float) clipScale, (float) lr, (float) wd, (float) c1, (float) c2);
            return new StepInfo(step, lr, norm, clipScale < 1.0);
        }
        for (int i = 0, n = p.size(); i < n; i++) {
            double gi = g.get(i) * clipScale;
            double mi = b1 * m.get(i) + (1 - b1) * gi;
            double vi = b2 * v.get(i) + (1 - b2) * gi * gi;
            m.set(i, mi);
            v.set(i, vi);
            double pi = p.get(i);
            p.set(i, pi - lr * (mi / c1) / (Math.sqrt(vi / c2) + eps) - wd * decay(i) * pi);
        }
        return new StepInfo(step, lr, norm, clipScale < 1.0);
    }

    private static final int CHUNK = 4096;

    /** The float32 update on heap chunks, which the JIT vectorizes. */
    private void updateFloat(Tensor p, Tensor g, float clipScale, float lr, float wd, float c1, float c2) {
        float b1 = (float) config.beta1(), b2 = (float) config.beta2(), eps = (float) config.eps();
        int n = p.size();
        Parallel.forRange((n + CHUNK - 1) / CHUNK, 4, (part, lo, hi) -> {
          float[] ps = Scratch.get(0, CHUNK), gs = Scratch.get(1, CHUNK), ms = Scratch.get(2, CHUNK),
                vs = Scratch.get(3, CHUNK), ds = Scratch.get(4, CHUNK);
          for (int o = lo * CHUNK; o < Math.min(n, hi * CHUNK); o += CHUNK) {
            int len = Math.min(CHUNK, n - o);
            p.read(o, ps, 0, len);
            g.read(o, gs, 0, len);
            m.read(o, ms, 0, len);
            v.read(o, vs, 0, len);
            decayFlags(o, len, ds);
            for (int i = 0; i < len; i++) {
                float gi = gs[i] * clipScale;
                float mi = b1 * ms[i] + (1 - b1) * gi;
                float vi = b2 * vs[i] + (1 - b2) * gi * gi;
                ms[i] = mi;
                vs[i] = vi;
                ps[i] -= lr * (mi / c1) / ((float) Math.sqrt(vi / c2) + eps) + wd * ds[i] * ps[i];
            }
            p.write(o, ps, 0, len);
            m.write(o, ms, 0, len);
            v.write(o, vs, 0, len);
          }
        });
    }

    /** 1 where element i decays, else 0. */
    private double decay(int i) {
        int r = java.util.Arrays.binarySearch(decayStart, i);
        if (r < 0) r = -r - 2; // the last range starting before i
        return r >= 0 && i < decayEnd[r] ? 1.0 : 0.0;
    }

    /** ds[0:len] = the decay flags of elements [o, o + len). */
    private void decayFlags(int o, int len, float[] ds) {
        java.util.Arrays.fill(ds, 0, len, 0f);
        int r = java.util.Arrays.binarySearch(decayStart, o);
        if (r < 0) r = Math.max(0, -r - 2);
        for (; r < decayStart.length && decayStart[r] < o + len; r++) {
            int from = Math.max(o, decayStart[r]), to = Math.min(o + len, decayEnd[r]);
            if (from < to) java.util.Arrays.fill(ds, from - o, to - o, 1f);
        }
    }

    public long stepCount() {
        return step;
    }

    public Config config() {
        return config;
    }

    /** First moments (live view: a checkpoint copies it). */
    public Tensor firstMoment() {
        return m;
    }

    public Tensor secondMoment() {
        return v;
    }

    /** Restores state saved from an optimizer of the same layout. */
    public void restore(long stepCount, Tensor firstMoment, Tensor secondMoment) {
        if (stepCount < 0) throw new IllegalArgumentException("optimizer step count must be >= 0, got " + stepCount);
        m.copyFrom(firstMoment);
        v.copyFrom(secondMoment);
        step = stepCount;
    }
}
