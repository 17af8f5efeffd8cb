package org.sparkrlhf.cuda;

import java.util.List;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.optim.AdamW;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tensor.Tensor;
import org.sparkrlhf.training.LmExample;
import org.sparkrlhf.training.LmMicroBatch;
import org.sparkrlhf.training.StepStats;

/**
 * A data-parallel rank's model on its GPU: parameters, gradients and AdamW state stay on the device
 * for the whole run; a step is the shard's summed language-model gradient, the sum across ranks
 * (handed in and out as a host array for the CPU collectives, or left on the device for NCCL), and the
 * update. The host sees parameters and moments only when it asks (checkpoints, the driver's copy).
 */
public final class CudaReplica implements AutoCloseable {
    private final CudaDevice dev;
    private final CudaKernels kernels;
    private final Cublas blas;
    private final CudaGpt model;
    private final CudaAdamW optimizer;
    private final boolean ownsDevice;

    private CudaReplica(CudaDevice dev, CudaKernels kernels, Cublas blas, GptConfig config, AdamW.Config opt, Parameters init, boolean ownsDevice) {
        this.dev = dev;
        this.kernels = kernels;
        this.blas = blas;
        this.model = new CudaGpt(dev, kernels, blas, config, init);
        this.optimizer = new CudaAdamW(opt, dev, kernels, model.layout());
        this.ownsDevice = ownsDevice;
    }

    /** A replica on GPU {@code ordinal}, opened for the calling thread (TF32 products). */
    public static CudaReplica open(int ordinal, GptConfig config, AdamW.Config opt, Parameters init) {
        CudaDevice dev = CudaDevice.open(ordinal);
        CudaKernels k = CudaKernels.load(dev, CudaKernels.defaultCache());
        return new CudaReplica(dev, k, new Cublas(Cublas.Precision.TF32), config, opt, init, true);
    }

    /** A replica on an open device (the device check runs several on one GPU). */
    public static CudaReplica on(CudaDevice dev, CudaKernels k, Cublas blas, GptConfig config, AdamW.Config opt, Parameters init) {
        return new CudaReplica(dev, k, blas, config, opt, init, false);
    }

    public CudaDevice device() {
        return dev;
    }

    /** Makes this replica's device current for the calling thread (a later stage's task runs on another thread). */
    public void bindThread() {
        dev.bindToThread();
    }

    public int size() {
        return model.layout().size();
    }

    public long stepCount() {
        return optimizer.stepCount();
    }

    /** Puts saved parameters and optimizer state on the device. */
    public void load(Parameters params, long step, Tensor firstMoment, Tensor secondMoment) {
        model.upload(params);
        optimizer.restore(step, firstMoment, secondMoment);
    }

    public Parameters parameters() {
        return model.parameters(DType.FLOAT32);
    }

    public Tensor firstMoment() {
        return optimizer.firstMoment();
    }

    public Tensor secondMoment() {
        return optimizer.secondMoment();
    }

    public void zeroGradients() {
        model.zeroGradients();
    }

    /**
     * Adds the gradient of the summed next-token loss over {@code examples} (micro-batches of at most
     * {@code microBatch}), as {@link org.sparkrlhf.training.LanguageModelObjective} does on the CPU.
     */
    public StepStats accumulate(List<LmExample> examples, int microBatch) {
        long t0 = System.nanoTime();
        double loss = 0, count = 0;
        for (int from = 0; from < examples.size(); from += microBatch) {
            LmMicroBatch mb = LmMicroBatch.of(examples.subList(from, Math.min(examples.size(), from + microBatch)));
            if (mb.count() == 0) continue;
            loss += model.lossAndBackward(mb.batch(), mb.targets(), mb.floatWeights(), 1.0);
            count += mb.count();
        }
        return new StepStats(loss, count, Double.NaN, System.nanoTime() - t0);
    }

    /** The gradient buffer, copied into {@code host} (this replica's size). */
    public void gradientsTo(float[] host) {
        transfer(host, true);
    }

    /** Replaces the gradient buffer with {@code host} (the sum across ranks, scaled). */
    public void gradientsFrom(float[] host) {
        transfer(host, false);
    }

    private void transfer(float[] host, boolean toHost) {
        if (host.length != size()) throw new IllegalArgumentException("gradient array has " + host.length + " values, the model " + size());
        int chunk = 1 << 22;
        for (int o = 0; o < host.length; o += chunk) {
            int len = Math.min(chunk, host.length - o);
            if (toHost) dev.download(host, o, model.gradientMemory(), o, len);
            else dev.upload(model.gradientMemory(), o, host, o, len);
        }
    }

    /** The update from the gradient buffer as it stands. */
    public AdamW.StepInfo step() {
        return optimizer.step(model);
    }

    @Override
    public void close() {
        optimizer.close();
        model.close();
        if (ownsDevice) {
            blas.close();
            dev.close();
        }
    }
}
