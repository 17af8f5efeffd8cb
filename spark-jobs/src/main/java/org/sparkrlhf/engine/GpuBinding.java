package org.sparkrlhf.engine;

import java.util.OptionalInt;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;

/**
 * The GPU Spark assigned a task (task resources, one GPU per executor:
 * {@code spark.executor.resource.gpu.amount=1}, {@code spark.task.resource.gpu.amount=1}), as a CUDA
 * ordinal, so that a rank with {@code model.device: cuda} opens that device and not device 0 of every
 * executor on a node. Addresses are CUDA ordinals, as {@code cluster-configs/gpu/discover-gpus.sh}
 * reports them. Without a GPU resource (local mode, one GPU per machine) a CUDA rank uses device 0.
 */
public final class GpuBinding {
    private GpuBinding() {}

    /** The CUDA ordinal the current task was given, if any. */
    static OptionalInt bindTask() {
        TaskContext task = TaskContext.get();
        if (task == null) return OptionalInt.empty();
        scala.Option<ResourceInformation> gpu = task.resources().get("gpu");
        if (gpu.isEmpty()) return OptionalInt.empty();
        return OptionalInt.of(ordinal(gpu.get().addresses()));
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
}
