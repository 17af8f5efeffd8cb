package org.sparkrlhf.cuda;

import static org.bytedeco.cuda.global.cudart.*;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.cuda.cudart.CUevent_st;

/**
 * Device time per kernel and per GEMM shape, from a pair of CUDA events around each launch: where a
 * step's time goes, measured rather than guessed (the GPU machines here have no profiler that reads
 * counters under every runtime). Attach it to {@link CudaKernels} and {@link Cublas} for one step.
 */
public final class Profiler {
    private final List<String> labels = new ArrayList<>();
    private final List<Double> flops = new ArrayList<>();
    private final List<CUevent_st> events = new ArrayList<>();
    private int used;

    void begin(String label, double flop) {
        labels.add(label);
        flops.add(flop);
        record(2 * (labels.size() - 1));
    }

    void end() {
        record(2 * (labels.size() - 1) + 1);
    }

    private void record(int i) {
        while (events.size() <= i) {
            CUevent_st e = new CUevent_st();
            CudaDevice.check(cudaEventCreate(e), "cudaEventCreate");
            events.add(e);
        }
        CudaDevice.check(cudaEventRecord(events.get(i), null), "cudaEventRecord");
        used = Math.max(used, i + 1);
    }

    /** Per label: {milliseconds, calls, TFLOP/s (GEMMs)}, largest time first; then forgets the recorded launches. */
    public Map<String, double[]> collect() {
        CudaDevice.check(cudaDeviceSynchronize(), "the profiled GPU work");
        Map<String, double[]> acc = new LinkedHashMap<>();
        float[] ms = {0};
        for (int i = 0; i < labels.size(); i++) {
            CudaDevice.check(cudaEventElapsedTime(ms, events.get(2 * i), events.get(2 * i + 1)), "cudaEventElapsedTime");
            double[] a = acc.computeIfAbsent(labels.get(i), l -> new double[3]);
            a[0] += ms[0];
            a[1] += 1;
            a[2] += flops.get(i);
        }
        labels.clear();
        flops.clear();
        Map<String, double[]> sorted = new LinkedHashMap<>();
        acc.entrySet().stream().sorted((x, y) -> Double.compare(y.getValue()[0], x.getValue()[0])).forEach(e -> {
            double[] a = e.getValue();
            sorted.put(e.getKey(), new double[] {a[0], a[1], a[2] > 0 ? a[2] / (a[0] / 1e3) / 1e12 : 0});
        });
        return sorted;
    }
}
