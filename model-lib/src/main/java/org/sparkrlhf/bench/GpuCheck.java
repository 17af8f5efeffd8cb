package org.sparkrlhf.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.File;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.sparkrlhf.bench.GpuKernelChecks.Result;
import org.sparkrlhf.cuda.CudaDevice;
import org.sparkrlhf.cuda.CudaGpt;
import org.sparkrlhf.cuda.CudaKernels;
import org.sparkrlhf.cuda.Cublas;
import org.sparkrlhf.cuda.DeviceMemory;
import org.sparkrlhf.cuda.NcclComm;

/**
 * The device check ({@code bin/gpu-check}): correctness of every kernel, of the whole training step
 * and of KV-cache decoding against the CPU's float64 model, then speed at GPT-2-small shape. Each
 * section runs on its own, so one failure still leaves the others' results; all go to one JSON file.
 *
 * <p>{@code java ... org.sparkrlhf.bench.GpuCheck OUT.json [--no-perf] [--batches 64,32,16]}
 */
public final class GpuCheck {
    private GpuCheck() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: GpuCheck OUT.json [--no-perf] [--batches 64,32,16]");
            System.exit(2);
        }
        File outFile = new File(args[0]);
        boolean perf = true;
        int[] batches = {64, 32, 16};
        for (int i = 1; i < args.length; i++) {
            if (args[i].equals("--no-perf")) perf = false;
            else if (args[i].equals("--batches")) batches = java.util.Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
            else throw new IllegalArgumentException("unknown option " + args[i]);
        }
        Map<String, Object> report = new LinkedHashMap<>();
        Map<String, String> failures = new LinkedHashMap<>();
        report.put("failures", failures);
        long t0 = System.nanoTime();
        CudaDevice dev = section("device", failures, () -> CudaDevice.open(0));
        if (dev == null) {
            write(outFile, report);
            System.exit(1);
        }
        Map<String, Object> info = new LinkedHashMap<>();
        info.put("name", dev.name());
        info.put("architecture", dev.architecture());
        info.put("multiprocessors", dev.multiprocessors());
        info.put("memory_gb", dev.totalMemory() / 1e9);
        info.put("driver_cuda", dev.driverCuda());
        report.put("device", info);
        long c0 = System.nanoTime();
        CudaKernels k = section("compile", failures, () -> CudaKernels.load(dev, CudaKernels.defaultCache()));
        if (k == null) {
            write(outFile, report);
            System.exit(1);
        }
        info.put("kernel_load_s", (System.nanoTime() - c0) / 1e9);
        info.put("kernels_from_cache", k.fromCache());
        System.out.println("device: " + dev + "; kernels ready in " + info.get("kernel_load_s") + " s");

        List<Result> all = new ArrayList<>();
        List<Result> kernels = section("kernels", failures, () -> new GpuKernelChecks(dev, k).runAll());
        report.put("kernels", table(kernels, all));
        GpuModelChecks models = new GpuModelChecks(dev, k);
        report.put("model_fp32", table(section("model_fp32", failures, () -> models.training(Cublas.Precision.FP32, 5, 4)), all));
        report.put("model_tf32", table(section("model_tf32", failures, () -> models.training(Cublas.Precision.TF32, CudaGpt.ATTENTION_CHUNK, CudaGpt.DEFAULT_WEIGHT_GRAD_SPLITS)), all));
        report.put("decoder", table(section("decoder", failures, models::decoder), all));
        report.put("data_parallel", table(section("data_parallel", failures, models::dataParallel), all));
        report.put("nccl", section("nccl", failures, () -> ncclOneRank(dev)));
        report.put("errors_and_threads", section("errors_and_threads", failures, () -> errorsAndThreads(dev, k)));
        @SuppressWarnings("unchecked")
        Map<String, Object> et = (Map<String, Object>) report.get("errors_and_threads");
        if (et != null) {
            all.add(new Result("errors:oom_named_and_recovered_mismatches", Boolean.TRUE.equals(et.get("oversized_allocation_named_and_recovered")) ? 0 : 1, 0));
            all.add(new Result("threads:step_on_another_thread_mismatches", Boolean.TRUE.equals(et.get("step_on_another_thread_bit_identical")) ? 0 : 1, 0));
        }
        long failed = all.stream().filter(r -> !r.pass()).count();
        report.put("correctness", Map.of("checks", all.size(), "failed", failed,
                "tolerances", Map.of("kernels_fp32", GpuKernelChecks.TOLERANCE, "model_fp32", GpuModelChecks.FP32_TOLERANCE, "model_tf32", GpuModelChecks.TF32_TOLERANCE)));
        write(outFile, report);
        for (Result r : all) if (!r.pass()) System.out.printf("FAILED %-60s error %.3e > %.1e%n", r.name(), r.error(), r.tolerance());
        System.out.printf("correctness: %d checks, %d failed (%.1f s)%n", all.size(), failed, (System.nanoTime() - t0) / 1e9);

        if (perf) {
            GpuThroughput tp = new GpuThroughput(dev, k);
            report.put("gemm", section("gemm", failures, () -> tp.gemm(8192)));
            report.put("gemm_shapes", section("gemm_shapes", failures, () -> tp.gemmShapes(Cublas.Precision.TF32)));
            write(outFile, report);
            int[] b = batches;
            report.put("training", section("training", failures, () -> tp.training(Cublas.Precision.TF32, b, 5)));
            write(outFile, report);
            report.put("sampling", section("sampling", failures, () -> tp.sampling(Cublas.Precision.TF32, 64, 256, 32)));
        }
        report.put("seconds", (System.nanoTime() - t0) / 1e9);
        write(outFile, report);
        System.out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(Map.of(
                "gemm", report.getOrDefault("gemm", "-"), "gemm_shapes", report.getOrDefault("gemm_shapes", "-"), "training", report.getOrDefault("training", "-"),
                "sampling", report.getOrDefault("sampling", "-"), "failures", failures)));
        System.exit(failures.isEmpty() && failed == 0 ? 0 : 1);
    }

    /** One GPU here: a one-rank communicator proves the library, the id exchange bytes and the in-place sum. */
    private static Map<String, Object> ncclOneRank(CudaDevice dev) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("version", NcclComm.version());
        byte[] id = NcclComm.newUniqueId();
        int n = 1 << 20;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = i % 1000 * 0.5f;
        try (NcclComm comm = new NcclComm(dev, id, 1, 0); DeviceMemory buf = dev.allocate(n, "NCCL buffer")) {
            dev.upload(buf, 0, x, 0, n);
            comm.allReduceSum(buf, n);
            float[] y = new float[n];
            dev.download(y, 0, buf, 0, n);
            out.put("one_rank_sum_identical", java.util.Arrays.equals(x, y));
        }
        return out;
    }

    /**
     * What the Spark wiring relies on: an allocation past the GPU's memory is a clear error after which
     * the device still works, and a replica made on one thread steps on another once it binds there
     * (a later stage's task runs on a new thread).
     */
    private static Map<String, Object> errorsAndThreads(CudaDevice dev, CudaKernels k) throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        String oom = null;
        try (DeviceMemory huge = dev.allocate(dev.totalMemory(), "a buffer four times the GPU's memory")) {
            oom = "no error";
        } catch (org.sparkrlhf.cuda.CudaException e) {
            oom = e.getMessage();
        }
        out.put("oversized_allocation", oom);
        boolean oomOk = oom.startsWith("out of GPU memory allocating") && oom.contains("lower the batch size");
        try (DeviceMemory after = dev.allocate(1 << 20, "a buffer after the failed one")) {
            dev.zero(after);
            dev.synchronize("the allocation after an out-of-memory error");
        }
        out.put("oversized_allocation_named_and_recovered", oomOk);
        org.sparkrlhf.model.GptConfig c = GpuModelChecks.SMALL;
        org.sparkrlhf.optim.AdamW.Config opt = new org.sparkrlhf.optim.AdamW.Config(org.sparkrlhf.optim.LrSchedule.constant(1e-3), 0.9, 0.95, 1e-8, 0.1, 1.0);
        java.util.List<org.sparkrlhf.training.LmExample> ex = new ArrayList<>();
        java.util.SplittableRandom rng = new java.util.SplittableRandom(3);
        for (int e = 0; e < 4; e++) {
            int[] toks = rng.ints(10, 0, c.vocabSize()).toArray();
            boolean[] t = new boolean[10];
            java.util.Arrays.fill(t, 2, 10, true);
            ex.add(new org.sparkrlhf.training.LmExample(toks, t));
        }
        try (Cublas blas = new Cublas(Cublas.Precision.FP32);
             org.sparkrlhf.cuda.CudaReplica here = org.sparkrlhf.cuda.CudaReplica.on(dev, k, blas, c, opt, GpuModelChecks.perturbedInit(c, 5).toDType(org.sparkrlhf.tensor.DType.FLOAT32));
             org.sparkrlhf.cuda.CudaReplica there = org.sparkrlhf.cuda.CudaReplica.on(dev, k, blas, c, opt, GpuModelChecks.perturbedInit(c, 5).toDType(org.sparkrlhf.tensor.DType.FLOAT32))) {
            here.zeroGradients();
            here.accumulate(ex, 2);
            here.step();
            java.util.concurrent.atomic.AtomicReference<Throwable> err = new java.util.concurrent.atomic.AtomicReference<>();
            Thread t = new Thread(() -> {
                try {
                    there.bindThread();
                    there.zeroGradients();
                    there.accumulate(ex, 2);
                    there.step();
                    dev.synchronize("the step on another thread");
                } catch (Throwable x) {
                    err.set(x);
                }
            });
            t.start();
            t.join();
            here.bindThread();
            if (err.get() != null) throw new IllegalStateException("a step on another thread failed", err.get());
            out.put("step_on_another_thread_bit_identical",
                    java.util.Arrays.equals(here.parameters().flat().toFloatArray(), there.parameters().flat().toFloatArray()));
        }
        return out;
    }

    private static List<Map<String, Object>> table(List<Result> results, List<Result> all) {
        List<Map<String, Object>> rows = new ArrayList<>();
        if (results == null) return rows;
        for (Result r : results) {
            all.add(r);
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("name", r.name());
            row.put("max_rel_error", Double.isNaN(r.error()) ? "NaN" : r.error());
            row.put("tolerance", r.tolerance());
            row.put("pass", r.pass());
            rows.add(row);
        }
        return rows;
    }

    private static <T> T section(String name, Map<String, String> failures, Callable<T> body) {
        try {
            return body.call();
        } catch (Throwable e) {
            StringWriter sw = new StringWriter();
            e.printStackTrace(new PrintWriter(sw));
            String trace = sw.toString();
            failures.put(name, trace.length() > 4000 ? trace.substring(0, 4000) : trace);
            System.out.println("section " + name + " failed: " + e);
            return null;
        }
    }

    private static void write(File f, Map<String, Object> report) throws java.io.IOException {
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(f, report);
    }
}
