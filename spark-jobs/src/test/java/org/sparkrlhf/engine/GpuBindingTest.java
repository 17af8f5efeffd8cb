package org.sparkrlhf.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.apache.spark.SparkConf;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GpuBindingTest {
    @Test
    void anAddressMustBeOneCudaOrdinal() {
        assertEquals(3, GpuBinding.ordinal(new String[]{"3"}));
        assertTrue(assertThrows(IllegalStateException.class, () -> GpuBinding.ordinal(new String[]{"0", "1"})).getMessage()
                .contains("spark.task.resource.gpu.amount=1"));
        assertTrue(assertThrows(IllegalStateException.class, () -> GpuBinding.ordinal(new String[]{"GPU-6f2c"})).getMessage()
                .contains("discover-gpus.sh"));
    }

    /**
     * Executors in separate JVMs get GPUs from workers that found them with the project's discovery
     * script (over a fake nvidia-smi); every task binds to the one GPU Spark gave it.
     */
    @Test
    void tasksBindToTheGpuSparkAssignedThem(@TempDir Path dir) throws Exception {
        Path smi = dir.resolve("nvidia-smi");
        Files.writeString(smi, "#!/bin/sh\nprintf '0\\n1\\n'\n");
        Path script = dir.resolve("discover.sh");
        Files.writeString(script, "#!/bin/sh\nPATH=" + dir + ":$PATH exec bash "
                + Path.of("../cluster-configs/gpu/discover-gpus.sh").toAbsolutePath().normalize() + "\n");
        assertTrue(smi.toFile().setExecutable(true) && script.toFile().setExecutable(true));

        // one worker with two GPUs and two single-core executors: Spark must hand them different GPUs
        SparkConf conf = SparkDefaults.apply(new SparkConf()).setMaster("local-cluster[1,2,2048]").setAppName("gpu-binding")
                .set("spark.executor.cores", "1").set("spark.executor.memory", "768m")
                .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1")
                .set("spark.local.dir", "target/spark-local")
                .set("spark.worker.resource.gpu.amount", "2").set("spark.worker.resource.gpu.discoveryScript", script.toString())
                .set("spark.executor.resource.gpu.amount", "1").set("spark.task.resource.gpu.amount", "1");
        SparkHome.prepareLocalCluster(conf);
        SparkSession spark = SparkSession.builder().config(conf).getOrCreate();
        try {
            // A barrier stage's two tasks must run at once, so they land on the two single-core
            // executors; plain tasks may all finish on whichever executor registered first.
            BarrierStage.requireSlots(spark.sparkContext(), 2, 60_000);
            JavaRDD<Integer> ranks = JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(List.of(0, 1), 2);
            List<String> seen = BarrierStage.mapPartitions(ranks, (Iterator<Integer> it, BarrierTaskContext ctx) -> {
                String[] given = ctx.resources().get("gpu").get().addresses();
                return List.of(String.join(",", given) + "->" + GpuBinding.bindTask().getAsInt()).iterator();
            }).collect();
            assertEquals(2, seen.size());
            for (String s : seen) assertTrue(Set.of("0->0", "1->1").contains(s), "one GPU per task, bound to its ordinal: " + seen);
            assertEquals(Set.of("0->0", "1->1"), Set.copyOf(seen), "both GPUs were handed out, each to its own executor: " + seen);
        } finally {
            spark.stop();
        }
    }
}
