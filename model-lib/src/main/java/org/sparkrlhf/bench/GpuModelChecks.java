package org.sparkrlhf.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.sparkrlhf.bench.GpuKernelChecks.Result;
import org.sparkrlhf.cuda.CudaAdamW;
import org.sparkrlhf.cuda.CudaDecoder;
import org.sparkrlhf.cuda.CudaDevice;
import org.sparkrlhf.cuda.CudaGpt;
import org.sparkrlhf.cuda.CudaKernels;
import org.sparkrlhf.cuda.Cublas;
import org.sparkrlhf.cuda.DeviceMemory;
import org.sparkrlhf.loss.LanguageModelLoss;
import org.sparkrlhf.model.Batch;
import org.sparkrlhf.model.Forward;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.ParameterLayout;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.optim.AdamW;
import org.sparkrlhf.optim.LrSchedule;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tensor.Tensor;

/**
 * The whole model on the GPU against the CPU model in float64: logits, loss, every parameter's
 * gradient and the parameters after two AdamW steps, on a small model and a batch with left and right
 * padding; and the KV-cache decoder's logits (prefill, then token by token) against the full forward.
 */
final class GpuModelChecks {
    /** Tolerances of the max relative error per tensor: float32 products, and TF32 (10-bit mantissa inputs). */
    static final double FP32_TOLERANCE = 1e-4, TF32_TOLERANCE = 2e-2;

    static final GptConfig SMALL = GptConfig.of(97, 16, 48, 4, 2);

    private final CudaDevice dev;
    private final CudaKernels k;

    GpuModelChecks(CudaDevice dev, CudaKernels k) {
        this.dev = dev;
        this.k = k;
    }

    static Parameters perturbedInit(GptConfig c, long seed) {
        Parameters p = Parameters.init(c, DType.FLOAT64, seed);
        SplittableRandom rng = new SplittableRandom(seed + 1);
        Tensor flat = p.flat();
        for (int i = 0; i < flat.size(); i++) flat.set(i, flat.get(i) + 0.05 * (rng.nextDouble() - 0.5)); // LayerNorm and biases away from 1 and 0
        return p;
    }

    /** Rows: full, left-padded (prompt-style), right-padded (a short training sequence). */
    static Batch paddedBatch(GptConfig c, long seed) {
        int bsz = 3, t = 12;
        SplittableRandom rng = new SplittableRandom(seed);
        int[] tokens = new int[bsz * t];
        for (int i = 0; i < tokens.length; i++) tokens[i] = rng.nextInt(c.vocabSize());
        return new Batch(tokens, bsz, t, new int[] {0, 3, 0}, new int[] {t, t, 8});
    }

    /** One training run against float64; {@code attentionChunk} small enough to cut the batch's 12 positions into several chunks, or the default. */
    List<Result> training(Cublas.Precision precision, int attentionChunk, int weightGradSplits) {
        double tol = precision == Cublas.Precision.TF32 ? TF32_TOLERANCE : FP32_TOLERANCE;
        String tag = precision.name().toLowerCase() + "(chunk " + attentionChunk + ", splits " + weightGradSplits + "):";
        List<Result> out = new ArrayList<>();
        GptConfig c = SMALL;
        Parameters ref = perturbedInit(c, 7);
        Batch batch = paddedBatch(c, 8);
        int n = batch.batchSize() * batch.length(), v = c.vocabSize();
        int[] targets = new int[n];
        double[] w = new double[n];
        float[] wf = new float[n];
        for (int b = 0; b < batch.batchSize(); b++)
            for (int i = 0; i < batch.length(); i++) {
                int cell = b * batch.length() + i;
                boolean next = batch.isReal(b, i) && i + 1 < batch.length() && batch.isReal(b, i + 1);
                targets[cell] = next ? batch.token(b, i + 1) : 0;
                w[cell] = next ? 1 : 0;
                wf[cell] = (float) w[cell];
            }
        double normalizer = 17.0;
        // Adam's first steps move every parameter by about lr whatever its gradient's size, so a gradient
        // element near zero whose sign differs in TF32 moves the other way: lr is a fine-tuning rate
        // (1e-4) so that this shows at the scale it has in training, not magnified.
        AdamW.Config opt = new AdamW.Config(LrSchedule.constant(1e-4), 0.9, 0.95, 1e-8, 0.1, 0.5);

        Gpt cpu = new Gpt(c, ref);
        AdamW cpuOpt = new AdamW(opt, ref.layout(), DType.FLOAT64);
        try (Cublas blas = new Cublas(precision);
             CudaGpt gpu = new CudaGpt(dev, k, blas, c, ref.toDType(DType.FLOAT32), attentionChunk);
             CudaAdamW gpuOpt = new CudaAdamW(opt, dev, k, gpu.layout())) {
            gpu.setWeightGradSplits(weightGradSplits, 0);
            for (int step = 0; step < 2; step++) {
                Forward f = cpu.forward(batch);
                double[] refLogits = toDouble(f.logits());
                Tensor dLogits = Tensor.zeros(DType.FLOAT64, n * v);
                double refLoss = LanguageModelLoss.crossEntropy(f.logits(), v, targets, w, normalizer, dLogits);
                Parameters refGrads = cpu.newGradients();
                cpu.backward(f, dLogits, null, null, refGrads);

                gpu.forward(batch);
                float[] logits = gpu.downloadLogits();
                gpu.zeroGradients();
                double loss = gpu.lossAndBackward(batch, targets, wf, normalizer);
                Parameters grads = gpu.gradients(DType.FLOAT32);
                if (step == 0) {
                    out.add(new Result(tag + "logits", GpuKernelChecks.relErr(logits, refLogits), tol));
                    out.add(new Result(tag + "loss", Math.abs(loss - refLoss) / Math.abs(refLoss), tol));
                    for (ParameterLayout.Entry e : ref.layout().entries().values())
                        out.add(new Result(tag + "grad:" + e.name(), GpuKernelChecks.relErr(grads.get(e.name()).toFloatArray(), toDouble(refGrads.get(e.name()))), tol));
                }
                cpuOpt.step(ref, refGrads);
                gpuOpt.step(gpu);
            }
            Parameters after = gpu.parameters(DType.FLOAT32);
            for (ParameterLayout.Entry e : ref.layout().entries().values())
                out.add(new Result(tag + "after_two_adamw_steps:" + e.name(),
                        GpuKernelChecks.relErr(after.get(e.name()).toFloatArray(), toDouble(ref.get(e.name()))), tol));
        }
        return out;
    }

    /**
     * The rank side of data-parallel training on GPUs: two replicas on one GPU each take half of eight
     * language-model examples of different lengths (micro-batches of 3), their gradients are summed on
     * the host in rank order and scaled, both step. The replicas must end bit-identical, and equal to
     * the CPU model in float64 (LanguageModelObjective and AdamW) on the whole batch; FP32 products.
     */
    List<Result> dataParallel() {
        List<Result> out = new ArrayList<>();
        GptConfig c = SMALL;
        Parameters ref = perturbedInit(c, 21);
        SplittableRandom rng = new SplittableRandom(22);
        List<org.sparkrlhf.training.LmExample> examples = new ArrayList<>();
        for (int e = 0; e < 8; e++) {
            int len = 5 + rng.nextInt(8);
            int[] tokens = new int[len];
            boolean[] target = new boolean[len];
            for (int i = 0; i < len; i++) {
                tokens[i] = rng.nextInt(c.vocabSize());
                target[i] = i >= 2; // a prompt of two tokens, then the trained response
            }
            examples.add(new org.sparkrlhf.training.LmExample(tokens, target));
        }
        AdamW.Config opt = new AdamW.Config(LrSchedule.constant(1e-4), 0.9, 0.95, 1e-8, 0.1, 1.0);
        // CPU float64 on the whole batch
        Gpt cpu = new Gpt(c, ref);
        Parameters refGrads = cpu.newGradients();
        org.sparkrlhf.training.StepStats refStats = new org.sparkrlhf.training.LanguageModelObjective().accumulate(cpu, examples, 3, refGrads);
        refGrads.flat().scale(1.0 / refStats.count());
        new AdamW(opt, ref.layout(), DType.FLOAT64).step(ref, refGrads);
        try (Cublas blas = new Cublas(Cublas.Precision.FP32);
             org.sparkrlhf.cuda.CudaReplica a = org.sparkrlhf.cuda.CudaReplica.on(dev, k, blas, c, opt, perturbedInit(c, 21).toDType(DType.FLOAT32));
             org.sparkrlhf.cuda.CudaReplica b = org.sparkrlhf.cuda.CudaReplica.on(dev, k, blas, c, opt, perturbedInit(c, 21).toDType(DType.FLOAT32))) {
            a.zeroGradients();
            b.zeroGradients();
            org.sparkrlhf.training.StepStats sa = a.accumulate(examples.subList(0, 4), 3), sb = b.accumulate(examples.subList(4, 8), 3);
            float[] ga = new float[a.size()], gb = new float[b.size()];
            a.gradientsTo(ga);
            b.gradientsTo(gb);
            double count = sa.count() + sb.count();
            for (int i = 0; i < ga.length; i++) ga[i] = (float) ((ga[i] + gb[i]) * (1.0 / count));
            a.gradientsFrom(ga);
            b.gradientsFrom(ga);
            a.step();
            b.step();
            float[] pa = a.parameters().flat().toFloatArray(), pb = b.parameters().flat().toFloatArray();
            out.add(new Result("data_parallel:replicas_bit_identical_mismatches", java.util.Arrays.equals(pa, pb) ? 0 : 1, 0));
            out.add(new Result("data_parallel:loss_sum", Math.abs(sa.lossSum() + sb.lossSum() - refStats.lossSum()) / refStats.lossSum(), FP32_TOLERANCE));
            out.add(new Result("data_parallel:params_after_step", GpuKernelChecks.relErr(pa, toDouble(ref.flat())), FP32_TOLERANCE));
        }
        return out;
    }

    /** Prefill of left-padded prompts, then three single-token steps: logits against the full forward pass. */
    List<Result> decoder() {
        List<Result> out = new ArrayList<>();
        GptConfig c = SMALL;
        Parameters ref = perturbedInit(c, 11);
        int bsz = 3, prompt = 6, extra = 3, t = prompt + extra, v = c.vocabSize();
        int[] start = {0, 2, 4};
        SplittableRandom rng = new SplittableRandom(12);
        int[] tokens = new int[bsz * t];
        for (int i = 0; i < tokens.length; i++) tokens[i] = rng.nextInt(v);
        int[] ends = {t, t, t};
        Batch full = new Batch(tokens, bsz, t, start, ends);
        Gpt cpu = new Gpt(c, ref);
        double[] refLogits = toDouble(cpu.forward(full).logits());
        try (Cublas blas = new Cublas(Cublas.Precision.FP32);
             CudaGpt gpu = new CudaGpt(dev, k, blas, c, ref.toDType(DType.FLOAT32));
             CudaDecoder dec = new CudaDecoder(gpu, bsz, t)) {
            dec.reset(start);
            int[] p = new int[bsz * prompt];
            for (int b = 0; b < bsz; b++) System.arraycopy(tokens, b * t, p, b * prompt, prompt);
            DeviceMemory pre = dec.extend(p, prompt, false);
            float[] got = new float[bsz * t * v];
            float[] buf = new float[bsz * prompt * v];
            dev.download(buf, 0, pre, 0, buf.length);
            for (int b = 0; b < bsz; b++) System.arraycopy(buf, b * prompt * v, got, b * t * v, prompt * v);
            for (int s = 0; s < extra; s++) {
                int[] one = new int[bsz];
                for (int b = 0; b < bsz; b++) one[b] = tokens[b * t + prompt + s];
                DeviceMemory step = dec.extend(one, 1, true);
                float[] row = new float[bsz * v];
                dev.download(row, 0, step, 0, row.length);
                for (int b = 0; b < bsz; b++) System.arraycopy(row, b * v, got, (b * t + prompt + s) * v, v);
            }
            // left-padding cells have no meaningful logits on either side: compare real cells only
            List<Float> g = new ArrayList<>();
            List<Double> r = new ArrayList<>();
            for (int b = 0; b < bsz; b++)
                for (int i = start[b]; i < t; i++)
                    for (int j = 0; j < v; j++) {
                        g.add(got[(b * t + i) * v + j]);
                        r.add(refLogits[(b * t + i) * v + j]);
                    }
            float[] gf = new float[g.size()];
            double[] rd = new double[r.size()];
            for (int i = 0; i < gf.length; i++) {
                gf[i] = g.get(i);
                rd[i] = r.get(i);
            }
            out.add(new Result("fp32:kv_cache_logits_vs_full_forward", GpuKernelChecks.relErr(gf, rd), FP32_TOLERANCE));
        }
        return out;
    }

    private static double[] toDouble(Tensor t) {
        double[] d = new double[t.size()];
        for (int i = 0; i < d.length; i++) d[i] = t.get(i);
        return d;
    }
}
