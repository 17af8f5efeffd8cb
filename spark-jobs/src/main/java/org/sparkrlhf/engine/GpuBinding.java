package org.sparkrlhf.engine;

import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Binds a task's thread to the GPU Spark assigned the task (task resources, one GPU per executor:
 * {@code spark.executor.resource.gpu.amount=1}, {@code spark.task.resource.gpu.amount=1}), so ND4J's
 * CUDA backend works on that device and not on device 0 of every executor on a node. Addresses are
 * CUDA ordinals, as {@code cluster-configs/gpu/discover-gpus.sh} reports them. With the CPU backend,
 * or without a GPU resource, nothing changes.
 */
public final class GpuBinding {
    private static final Logger LOG = LoggerFactory.getLogger(GpuBinding.class);
    private static volatile Boolean cudaBackend;
    private static final AtomicBoolean warnedCpu = new AtomicBoolean();

    private GpuBinding() {}

    /** Called at the start of a task's work ({@link TaskSetup#begin}); returns the CUDA ordinal the task was given, if any. */
    static OptionalInt bindTask() {
        TaskContext task = TaskContext.get();
        if (task == null) return OptionalInt.empty();
        scala.Option<ResourceInformation> gpu = task.resources().get("gpu");
        if (gpu.isEmpty()) return OptionalInt.empty();
        int ordinal = ordinal(gpu.get().addresses());
        if (isCudaBackend()) {
            org.nd4j.linalg.factory.Nd4j.getAffinityManager().unsafeSetDevice(ordinal);
        } else if (warnedCpu.compareAndSet(false, true)) {
            LOG.warn("task was assigned GPU {} but ND4J runs its CPU backend (build with -Pcuda for GPU executors)", ordinal);
        }
        return OptionalInt.of(ordinal);
    }

    /** The one CUDA ordinal among a task's GPU addresses. */
    static int ordinal(String[] addresses) {
        if (addresses.length != 1)
            throw new IllegalStateException("a task needs exactly one GPU, got " + addresses.length + " " + java.util.Arrays.toString(addresses)
                    + ": set spark.task.resource.gpu.amount=1 and spark.executor.resource.gpu.amount=1");
        try {
            int i = Integer.parseInt(addresses[0].trim());
            if (i < 0) throw new NumberFormatException();
            return i;
        } catch (NumberFormatException e) {
            throw new IllegalStateException("GPU address '" + addresses[0] + "' is not a CUDA device ordinal: the GPU discovery script must "
                    + "print ordinals such as \"0\" (cluster-configs/gpu/discover-gpus.sh does)");
        }
    }

    private static boolean isCudaBackend() {
        if (cudaBackend == null) // first use initializes ND4J (about a second), so only tasks with a GPU pay it
            cudaBackend = org.nd4j.linalg.factory.Nd4j.getBackend().getClass().getName().contains("JCublas");
        return cudaBackend;
    }
}
