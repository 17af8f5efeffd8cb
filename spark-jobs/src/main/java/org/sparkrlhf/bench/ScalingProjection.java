package org.sparkrlhf.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.sparkrlhf.engine.SparkDefaults;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code rlhf bench project}: step time and weak-scaling efficiency from 1 to 256 executors, for
 * model sizes from {@code small} to GPT-2 XL, at 10, 25 and 100 Gbit/s, for the ring against the
 * old driver aggregation ({@link CostModel}). Calibrated on this machine's measured rates (the
 * defaults are this machine's figures; pass your own), and first checked against the local
 * two-executor measurement it was calibrated on.
 */
@Command(name = "bench project", mixinStandardHelpOptions = true, versionProvider = org.sparkrlhf.cli.Version.class,
        description = "Scaling projection of the ring all-reduce against driver aggregation, from a calibrated cost model.")
public final class ScalingProjection implements Callable<Integer> {

    @Option(names = "--flops", defaultValue = "5.7e10", description = "An executor's achieved training FLOP/s (this machine, one core: 6 x 0.44M "
            + "parameters x 21,700 tokens/s measured by bench train on one single-core executor = ${DEFAULT-VALUE}).")
    double flops;

    @Option(names = "--gpu-flops", defaultValue = "2e14", description = "A GPU executor's achieved FLOP/s, for the second projection (assumed: ${DEFAULT-VALUE}).")
    double gpuFlops;

    @Option(names = "--ring-gbps", defaultValue = "1.8", description = "The ring's copy rate per rank in GB/s (bench allreduce, 2 ranks, 128 MB: ${DEFAULT-VALUE}).")
    double ringGBps;

    @Option(names = "--hop-us", defaultValue = "50", description = "Network latency of one ring hop in microseconds (assumed TCP over Ethernet: ${DEFAULT-VALUE}).")
    double hopMicros;

    @Option(names = "--out", description = "Also write the whole projection as JSON here (the notebook reads it).")
    Path out;

    @Option(names = "--json", description = "Print one JSON object (the last line) after the tables.")
    boolean json;

    /** GPT-2 family sizes (parameters) and the project's small bench model. */
    static final Map<String, Double> MODELS = new LinkedHashMap<>();

    static {
        MODELS.put("small (0.44M)", 0.44e6);
        MODELS.put("GPT-2 124M", 124e6);
        MODELS.put("GPT-2 medium 355M", 355e6);
        MODELS.put("GPT-2 large 774M", 774e6);
        MODELS.put("GPT-2 XL 1.5B", 1558e6);
    }

    static final int[] EXECUTORS = {1, 2, 4, 8, 16, 32, 64, 128, 256};
    static final double[] GBIT = {10, 25, 100};

    public static void main(String[] args) {
        SparkDefaults.exit(new CommandLine(new ScalingProjection()).execute(args));
    }

    /**
     * Measured here: AdamW 0.96 ms for 0.44M parameters on one core; an empty Spark job 13-50 ms (30 used); a stage's start and end
     * ~80 ms; memory copy ~13 GB/s. On a GPU (assumed): AdamW reads and writes 16 bytes a parameter at 3 TB/s.
     */
    CostModel model(String executor, double ringBytesPerSecond) {
        boolean gpu = executor.equals("gpu");
        return new CostModel(gpu ? gpuFlops : flops, ringBytesPerSecond, hopMicros * 1e-6, gpu ? 16 / 3e12 : 0.96e-3 / 0.44e6, 0.030, 0.080, 13e9, 50);
    }

    @Override
    public Integer call() throws Exception {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.set("calibration", calibrationCheck());
        ArrayNode rows = o.putArray("projection");
        for (String executorKind : new String[]{"cpu", "gpu"}) {
            CostModel m = model(executorKind, ringGBps * 1e9), atLinkRate = model(executorKind, Double.POSITIVE_INFINITY);
            double tokens = executorKind.equals("cpu") ? 2048 : 16 * 1024; // tokens per rank per step
            System.out.printf("%n%s executors (%.0f GFLOP/s achieved), %d tokens per rank per step: weak-scaling efficiency, ring / driver"
                    + (executorKind.equals("gpu") ? " (a ring at link rate, as NCCL runs, in the JSON)" : "") + "%n",
                    executorKind.toUpperCase(), m.flopsPerSecond() / 1e9, (int) tokens);
            System.out.printf("%-20s %8s", "model", "Gbit/s");
            for (int n : EXECUTORS) System.out.printf(" %11s", n + " exec");
            System.out.println();
            for (Map.Entry<String, Double> model : MODELS.entrySet())
                for (double gbit : GBIT) {
                    double link = gbit * 1e9 / 8, params = model.getValue();
                    System.out.printf("%-20s %8.0f", model.getKey(), gbit);
                    CostModel.Step ringOne = m.ring(params, tokens, 1, link), driverOne = m.driver(params, tokens, 1, link);
                    for (int n : EXECUTORS) {
                        CostModel.Step ring = m.ring(params, tokens, n, link), driver = m.driver(params, tokens, n, link);
                        double er = CostModel.efficiency(ringOne, ring), ed = CostModel.efficiency(driverOne, driver),
                                el = CostModel.efficiency(atLinkRate.ring(params, tokens, 1, link), atLinkRate.ring(params, tokens, n, link));
                        System.out.printf(" %5.2f/%5.2f", er, ed);
                        rows.addObject().put("executor", executorKind).put("model", model.getKey()).put("params", params).put("gbit", gbit)
                                .put("executors", n).put("ring_step_s", ring.total()).put("ring_comm_s", ring.communication())
                                .put("driver_step_s", driver.total()).put("ring_efficiency", er).put("driver_efficiency", ed)
                                .put("ring_at_link_rate_efficiency", el);
                    }
                    System.out.println();
                }
        }
        if (out != null) {
            Files.createDirectories(out.toAbsolutePath().getParent());
            Files.writeString(out, o.toString());
        }
        if (json) System.out.println(o);
        return 0;
    }

    /**
     * The model against what it was calibrated on: bench train on local-cluster, one and two single-core executors, the small
     * model, a global batch of 64 x 64 tokens split over the ranks (strong scaling), the ring over loopback.
     */
    ObjectNode calibrationCheck() {
        CostModel m = model("cpu", ringGBps * 1e9);
        double p = 0.44e6, link = ringGBps * 1e9, global = 64 * 64;
        double one = m.ring(p, global, 1, link).total(), two = m.ring(p, global / 2, 2, link).total();
        double measuredOne = 0.1887, measuredTwo = 0.1124; // bench train, this machine: 188.7 and 112.4 ms per step
        System.out.printf("calibration check (bench train, local-cluster, small model): 1 executor %.1f ms (measured %.1f), 2 executors %.1f ms "
                + "(measured %.1f); scaling %.2fx (measured %.2fx)%n", one * 1e3, measuredOne * 1e3, two * 1e3, measuredTwo * 1e3, one / two,
                measuredOne / measuredTwo);
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.put("predicted_step_ms_1", one * 1e3).put("measured_step_ms_1", measuredOne * 1e3).put("predicted_step_ms_2", two * 1e3)
                .put("measured_step_ms_2", measuredTwo * 1e3).put("predicted_scaling", one / two).put("measured_scaling", measuredOne / measuredTwo);
        return c;
    }
}
