package org.sparkrlhf.cuda;

import java.util.ArrayList;
import java.util.List;
import org.sparkrlhf.model.ParameterLayout;
import org.sparkrlhf.optim.AdamW;

/**
 * {@link AdamW} with its moments on the GPU: the same clipping, bias correction and decoupled decay
 * (matrices only), one kernel launch per run of adjacent tensors that share the decay flag. The
 * gradient norm is a two-pass ordered sum, so a step is bit-reproducible.
 */
public final class CudaAdamW implements AutoCloseable {
    private static final int NORM_BLOCKS = 1024;

    private final AdamW.Config config;
    private final CudaDevice dev;
    private final CudaKernels k;
    private final DeviceMemory m, v, partial, scalar;
    private final List<long[]> runs = new ArrayList<>(); // {offset, length, decays}
    private long step;

    public CudaAdamW(AdamW.Config config, CudaDevice dev, CudaKernels kernels, ParameterLayout layout) {
        this.config = config;
        this.dev = dev;
        this.k = kernels;
        this.m = dev.allocate(layout.size(), "AdamW first moments");
        this.v = dev.allocate(layout.size(), "AdamW second moments");
        this.partial = dev.allocate(NORM_BLOCKS, "gradient-norm partials");
        this.scalar = dev.allocate(1, "gradient norm");
        dev.zero(m);
        dev.zero(v);
        for (ParameterLayout.Entry e : layout.entries().values()) {
            long decays = e.decay() && e.shape().length >= 2 ? 1 : 0;
            long[] lastRun = runs.isEmpty() ? null : runs.get(runs.size() - 1);
            if (lastRun != null && lastRun[2] == decays && lastRun[0] + lastRun[1] == e.offset()) lastRun[1] += e.size();
            else runs.add(new long[] {e.offset(), e.size(), decays});
        }
    }

    /** Sum of squares of {@code x} on the device, in a fixed order. */
    double sumOfSquares(DeviceMemory x) {
        k.launch("sum_partial", NORM_BLOCKS, 1, 256, 1, 0, partial, x, x.length(), 1);
        k.launch("sum_final", 1, 1, 1024, 1, 0, scalar, partial, NORM_BLOCKS);
        float[] out = new float[1];
        dev.download(out, 0, scalar, 0, 1);
        return out[0];
    }

    /** One update of {@code model}'s parameters from its gradient buffer; throws on a non-finite gradient, like {@link AdamW#step}. */
    public AdamW.StepInfo step(CudaGpt model) {
        DeviceMemory p = model.parameterMemory(), g = model.gradientMemory();
        double norm = Math.sqrt(sumOfSquares(g));
        if (!Double.isFinite(norm))
            throw new IllegalArgumentException("gradient norm is " + norm + " at step " + step + "; skip this update");
        double clip = norm > config.maxGradNorm() ? config.maxGradNorm() / (norm + 1e-6) : 1.0;
        double lr = config.schedule().at(step);
        step++;
        double b1 = config.beta1(), b2 = config.beta2();
        float c1 = (float) (1 - Math.pow(b1, step)), c2 = (float) (1 - Math.pow(b2, step));
        float wd = (float) (lr * config.weightDecay());
        for (long[] r : runs)
            k.launch1d("adamw", r[1], p.slice(r[0], r[1]), g.slice(r[0], r[1]), m.slice(r[0], r[1]), v.slice(r[0], r[1]), r[1],
                    (float) clip, (float) lr, (float) b1, (float) b2, c1, c2, (float) config.eps(), r[2] == 1 ? wd : 0f);
        return new AdamW.StepInfo(step, lr, norm, clip < 1.0);
    }

    public long stepCount() {
        return step;
    }

    public AdamW.Config config() {
        return config;
    }

    /** The moments, copied to the host (for a checkpoint or the driver's copy). */
    public org.sparkrlhf.tensor.Tensor firstMoment() {
        return download(m);
    }

    public org.sparkrlhf.tensor.Tensor secondMoment() {
        return download(v);
    }

    /** Resumes from saved state: the step count and both moments (host tensors of this layout's size). */
    public void restore(long stepCount, org.sparkrlhf.tensor.Tensor firstMoment, org.sparkrlhf.tensor.Tensor secondMoment) {
        if (stepCount < 0) throw new IllegalArgumentException("optimizer step count must be >= 0, got " + stepCount);
        upload(m, firstMoment);
        upload(v, secondMoment);
        step = stepCount;
    }

    private org.sparkrlhf.tensor.Tensor download(DeviceMemory src) {
        int n = (int) src.length();
        org.sparkrlhf.tensor.Tensor t = org.sparkrlhf.tensor.Tensor.zeros(org.sparkrlhf.tensor.DType.FLOAT32, n);
        float[] buf = new float[Math.min(n, 1 << 22)];
        for (int o = 0; o < n; o += buf.length) {
            int len = Math.min(buf.length, n - o);
            dev.download(buf, 0, src, o, len);
            t.write(o, buf, 0, len);
        }
        return t;
    }

    private void upload(DeviceMemory dst, org.sparkrlhf.tensor.Tensor src) {
        if (src.size() != dst.length()) throw new IllegalArgumentException("optimizer state has " + src.size() + " values, expected " + dst.length());
        float[] buf = new float[Math.min(src.size(), 1 << 22)];
        for (int o = 0; o < src.size(); o += buf.length) {
            int len = Math.min(buf.length, src.size() - o);
            src.read(o, buf, 0, len);
            dev.upload(dst, o, buf, 0, len);
        }
    }

    @Override
    public void close() {
        m.close();
        v.close();
        partial.close();
        scalar.close();
    }
}
