package org.sparkrlhf.bench;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.sparkrlhf.cuda.CudaAdamW;
import org.sparkrlhf.cuda.CudaDecoder;
import org.sparkrlhf.cuda.CudaDevice;
import org.sparkrlhf.cuda.CudaException;
import org.sparkrlhf.cuda.CudaGpt;
import org.sparkrlhf.cuda.CudaKernels;
import org.sparkrlhf.cuda.Cublas;
import org.sparkrlhf.cuda.DeviceMemory;
import org.sparkrlhf.model.Batch;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.optim.AdamW;
import org.sparkrlhf.optim.LrSchedule;
import org.sparkrlhf.sampling.SamplingConfig;
import org.sparkrlhf.tensor.DType;

/**
 * Speed on the GPU at GPT-2-small shape: the GEMM ceiling cuBLAS reaches on this device, training
 * tokens/s with model FLOPs utilisation, and KV-cache sampling tokens/s. Device time is measured
 * with events around whole steps (the host's per-step work included, since it is part of a step).
 */
final class GpuThroughput {
    /** Dense peaks of an H100/H200 SXM by NVIDIA's datasheet, FLOP/s: what MFU is quoted against. */
    static final double TF32_PEAK = 494.7e12, FP32_PEAK = 66.9e12;

    static final GptConfig GPT2 = GptConfig.of(50257, 1024, 768, 12, 12);

    private final CudaDevice dev;
    private final CudaKernels k;

    GpuThroughput(CudaDevice dev, CudaKernels k) {
        this.dev = dev;
        this.k = k;
    }

    /** TFLOP/s of an n^3 product (median of 10 after 3 warm-ups), for both precisions. */
    Map<String, Object> gemm(int n) {
        Map<String, Object> out = new LinkedHashMap<>();
        try (DeviceMemory a = dev.allocate((long) n * n, "GEMM A"); DeviceMemory b = dev.allocate((long) n * n, "GEMM B");
             DeviceMemory c = dev.allocate((long) n * n, "GEMM C")) {
            float[] row = new float[n];
            SplittableRandom rng = new SplittableRandom(1);
            for (int r = 0; r < n; r++) {
                for (int j = 0; j < n; j++) row[j] = (float) (rng.nextDouble() - 0.5);
                dev.upload(a, (long) r * n, row, 0, n);
                dev.upload(b, (long) r * n, row, 0, n);
            }
            for (Cublas.Precision p : Cublas.Precision.values()) {
                try (Cublas blas = new Cublas(p)) {
                    double[] ms = new double[13];
                    for (int i = 0; i < ms.length; i++) ms[i] = dev.time(() -> blas.gemm(false, false, n, n, n, 1f, a, b, 0f, c));
                    double med = median(java.util.Arrays.copyOfRange(ms, 3, 13));
                    out.put(p.name().toLowerCase() + "_tflops", 2.0 * n * n * n / (med / 1e3) / 1e12);
                }
            }
        }
        out.put("n", n);
        return out;
    }

    /**
     * The weight-gradient products (X^T dY over 65536 rows) as the model runs them, computed transposed,
     * and through cublasGemmEx; and the LM head at the odd and the padded vocabulary: TFLOP/s of each.
     */
    Map<String, Object> gemmShapes(Cublas.Precision precision) {
        Map<String, Object> out = new LinkedHashMap<>();
        int n = 65536;
        int[][] shapes = {{768, 2304}, {768, 768}, {768, 3072}, {3072, 768}};
        try (Cublas blas = new Cublas(precision); DeviceMemory x = dev.allocate((long) n * 3072, "X"); DeviceMemory dy = dev.allocate((long) n * 3072, "dY");
             DeviceMemory c = dev.allocate(3072L * 3072, "C"); DeviceMemory big = dev.allocate((long) n * 50304, "logits");
             DeviceMemory w = dev.allocate(50304L * 768, "head")) {
            int seed = 1;
            for (DeviceMemory m : new DeviceMemory[] {x, dy, big, w}) k.launch1d("fill_hash", m.length(), m, m.length(), seed++); // never time on zeros
            for (int[] sh : shapes) {
                int in = sh[0], oc = sh[1];
                double flop = 2.0 * n * in * oc;
                out.put("dW " + in + "x" + oc + " as run", rate(flop, () -> blas.gemm(true, false, in, oc, n, 1f, x, dy, 0f, c)));
                out.put("dW " + in + "x" + oc + " transposed", rate(flop, () -> blas.gemm(true, false, oc, in, n, 1f, dy, x, 0f, c)));
                for (int sp : new int[] {2, 4, 8}) {
                    long rows = n / sp;
                    out.put("dW " + in + "x" + oc + " split " + sp, rate(flop, () -> {
                        blas.gemmStrided(true, false, in, oc, (int) rows, 1f, x, 0, in, rows * in, dy, 0, oc, rows * oc, 0f, big, 0, oc, (long) in * oc, sp);
                        k.launch1d("sum_partials", (long) in * oc, c, big, sp, in * oc);
                    }));
                }
            }
            for (int v : new int[] {50257, 50304}) {
                double flop = 2.0 * n * v * 768;
                out.put("lm head forward V=" + v, rate(flop, () -> blas.gemm(false, true, n, v, 768, 1f, x, 0, 768, w, 0, 768, 0f, big, 0, 50304)));
                out.put("lm head dX V=" + v, rate(flop, () -> blas.gemm(false, false, n, 768, v, 1f, big, 0, 50304, w, 0, 768, 0f, x, 0, 768)));
                out.put("lm head dW V=" + v, rate(flop, () -> blas.gemm(true, false, v, 768, n, 1f, big, 0, 50304, x, 0, 768, 0f, w, 0, 768)));
            }
        }
        return out;
    }

    private String rate(double flop, Runnable r) {
        for (int i = 0; i < 2; i++) r.run();
        double[] ms = new double[5];
        for (int i = 0; i < ms.length; i++) ms[i] = dev.time(r);
        return String.format("%.0f TFLOP/s", flop / (median(ms) / 1e3) / 1e12);
    }

    /** Model FLOPs per trained token: 6 per parameter plus attention's 12 L d T (the nanoGPT / PaLM count). */
    static double flopsPerToken(GptConfig c, long params, int t) {
        return 6.0 * params + 12.0 * c.nLayers() * c.dModel() * t;
    }

    Map<String, Object> training(Cublas.Precision precision, int[] batchSizes, int steps) {
        GptConfig c = GPT2;
        int t = c.contextLength();
        Map<String, Object> out = new LinkedHashMap<>();
        Parameters host = Parameters.init(c, DType.FLOAT32, 42);
        AdamW.Config opt = AdamW.Config.defaults(LrSchedule.constant(6e-4));
        try (Cublas blas = new Cublas(precision); CudaGpt gpu = new CudaGpt(dev, k, blas, c, host);
             CudaAdamW adam = new CudaAdamW(opt, dev, k, gpu.layout())) {
            for (int bsz : batchSizes) {
                SplittableRandom rng = new SplittableRandom(bsz);
                int n = bsz * t;
                int[] tokens = new int[n], targets = new int[n];
                float[] w = new float[n];
                for (int i = 0; i < n; i++) {
                    tokens[i] = rng.nextInt(c.vocabSize());
                    targets[i] = rng.nextInt(c.vocabSize());
                    w[i] = 1f;
                }
                Batch batch = Batch.dense(tokens, bsz, t);
                try {
                    Runnable step = () -> {
                        gpu.zeroGradients();
                        gpu.lossAndBackward(batch, targets, w, n);
                        adam.step(gpu);
                    };
                    for (int i = 0; i < 2; i++) step.run();
                    double[] ms = new double[steps];
                    for (int i = 0; i < steps; i++) ms[i] = dev.time(step);
                    double med = median(ms);
                    double tokPerS = n / (med / 1e3);
                    double flops = flopsPerToken(c, gpu.layout().size(), t) * tokPerS;
                    out.put("precision", precision.name().toLowerCase());
                    out.put("batch", bsz);
                    out.put("context", t);
                    out.put("step_ms_median", med);
                    out.put("tokens_per_s", tokPerS);
                    out.put("model_tflops", flops / 1e12);
                    out.put("mfu", flops / (precision == Cublas.Precision.TF32 ? TF32_PEAK : FP32_PEAK));
                    out.put("gpu_memory_used_gb", (dev.totalMemory() - dev.freeMemory()) / 1e9);
                    // where a step's time goes: the forward pass, AdamW (with the norm), and the rest (loss and backward)
                    double[] fwd = new double[3], upd = new double[3];
                    for (int i = 0; i < 3; i++) fwd[i] = dev.time(() -> gpu.forward(batch));
                    for (int i = 0; i < 3; i++) upd[i] = dev.time(() -> adam.step(gpu));
                    out.put("forward_ms", median(fwd));
                    out.put("adamw_ms", median(upd));
                    out.put("loss_and_backward_ms", med - median(fwd) - median(upd));
                    out.put("profile", profile(step, blas));
                    return out;
                } catch (CudaException e) {
                    if (!e.getMessage().startsWith("out of GPU memory")) throw e;
                    out.put("batch_" + bsz, "did not fit: " + e.getMessage());
                    gpu.releaseActivations();
                }
            }
        }
        return out;
    }

    /** One step with every launch timed: the 30 costliest labels, and GEMM versus other kernels in total. */
    private Map<String, Object> profile(Runnable step, Cublas blas) {
        org.sparkrlhf.cuda.Profiler p = new org.sparkrlhf.cuda.Profiler();
        k.profile(p);
        blas.profile(p);
        try {
            step.run();
        } finally {
            k.profile(null);
            blas.profile(null);
        }
        Map<String, double[]> all = p.collect();
        Map<String, Object> out = new LinkedHashMap<>();
        double gemm = 0, other = 0;
        for (Map.Entry<String, double[]> e : all.entrySet()) {
            if (e.getKey().startsWith("gemm")) gemm += e.getValue()[0];
            else other += e.getValue()[0];
        }
        out.put("gemm_ms", gemm);
        out.put("kernels_ms", other);
        int shown = 0;
        for (Map.Entry<String, double[]> e : all.entrySet()) {
            if (shown++ == 30) break;
            double[] v = e.getValue();
            out.put(e.getKey(), String.format("%.2f ms, %d calls%s", v[0], (long) v[1], v[2] > 0 ? String.format(", %.0f TFLOP/s", v[2]) : ""));
        }
        return out;
    }

    /** 64 sequences x 256 new tokens after 32-token prompts (some left-padded), plain sampling at temperature 1. */
    Map<String, Object> sampling(Cublas.Precision precision, int sequences, int newTokens, int promptLength) {
        GptConfig c = GPT2;
        Map<String, Object> out = new LinkedHashMap<>();
        Parameters host = Parameters.init(c, DType.FLOAT32, 43);
        SplittableRandom rng = new SplittableRandom(5);
        int[] prompts = new int[sequences * promptLength], starts = new int[sequences];
        long[] seeds = new long[sequences];
        for (int b = 0; b < sequences; b++) {
            starts[b] = rng.nextInt(8);
            seeds[b] = rng.nextLong();
            for (int i = 0; i < promptLength; i++) prompts[b * promptLength + i] = rng.nextInt(c.vocabSize());
        }
        try (Cublas blas = new Cublas(precision); CudaGpt gpu = new CudaGpt(dev, k, blas, c, host);
             CudaDecoder dec = new CudaDecoder(gpu, sequences, promptLength + newTokens)) {
            dec.generate(prompts, promptLength, starts, SamplingConfig.of(1.0, 16), seeds); // warm-up
            long t0 = System.nanoTime();
            CudaDecoder.Generated g = dec.generate(prompts, promptLength, starts, SamplingConfig.of(1.0, newTokens), seeds);
            double s = (System.nanoTime() - t0) / 1e9;
            CudaDecoder.Generated again = dec.generate(prompts, promptLength, starts, SamplingConfig.of(1.0, newTokens), seeds);
            out.put("precision", precision.name().toLowerCase());
            out.put("sequences", sequences);
            out.put("prompt_tokens", promptLength);
            out.put("new_tokens", newTokens);
            out.put("seconds", s);
            out.put("tokens_per_s", sequences * (double) newTokens / s);
            out.put("rerun_identical", java.util.Arrays.deepEquals(g.tokens(), again.tokens()));
        }
        return out;
    }

    static double median(double[] xs) {
        double[] s = xs.clone();
        java.util.Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
    }
}
