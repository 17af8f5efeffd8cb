package org.sparkrlhf.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;
import org.sparkrlhf.collective.Collective;
import org.sparkrlhf.collective.SharedMemoryCollective;
import org.sparkrlhf.collective.TcpRing;
import org.sparkrlhf.collective.ThreadRendezvous;
import org.sparkrlhf.engine.SparkDefaults;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code rlhf bench allreduce}: the all-reduce between ranks on this machine (threads of one JVM),
 * over the TCP ring (real sockets over loopback, as between hosts) and through shared memory (what
 * ranks on one host use), in algorithm bandwidth (buffer bytes per second) and
 * bus bandwidth (algorithm bandwidth x 2(N-1)/N, what each rank's links carry), beside this
 * machine's memory-copy bandwidth measured in the same run: on one host, copying memory is the
 * limit every transport shares.
 */
@Command(name = "bench allreduce", mixinStandardHelpOptions = true, versionProvider = org.sparkrlhf.cli.Version.class,
        description = "Ring all-reduce bandwidth against memory-copy bandwidth.")
public final class AllReduceBenchmark implements Callable<Integer> {

    @Option(names = "--json", description = "Print one JSON object (the last line) after the table.")
    boolean json;

    @Option(names = "--ranks", split = ",", defaultValue = "2,4", description = "Ranks to try (default: ${DEFAULT-VALUE}).")
    int[] ranks;

    @Option(names = "--mb", split = ",", defaultValue = "1,16,128", description = "Buffer sizes in MB (default: ${DEFAULT-VALUE}).")
    int[] sizes;

    @Option(names = "--transport", split = ",", defaultValue = "tcp,shm",
            description = "tcp (the ring over loopback, as between hosts) and/or shm (shared memory, what ranks on one host use) (default: ${DEFAULT-VALUE}).")
    String[] transports;

    public static void main(String[] args) {
        SparkDefaults.exit(new CommandLine(new AllReduceBenchmark()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        double copy = memoryCopyGBps();
        System.out.printf("memory copy: %.2f GB/s (System.arraycopy of 128 MB)%n", copy);
        System.out.printf("%-9s %6s %8s %10s %14s %14s %10s%n", "transport", "ranks", "MB", "ms", "algbw GB/s", "busbw GB/s", "of copy");
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("memory_copy_gbps", round(copy));
        ArrayNode rows = o.putArray("runs");
        for (String transport : transports)
            for (int n : ranks)
                for (int mb : sizes) {
                    double seconds = time(transport, n, mb * (1 << 20) / 4);
                    double alg = mb * (double) (1 << 20) / seconds / 1e9, bus = alg * 2 * (n - 1) / n;
                    System.out.printf("%-9s %6d %8d %10.1f %14.2f %14.2f %9.0f%%%n", transport, n, mb, seconds * 1e3, alg, bus, 100 * bus / copy);
                    rows.addObject().put("transport", transport).put("ranks", n).put("mb", mb).put("ms", round(seconds * 1e3))
                            .put("algbw_gbps", round(alg)).put("busbw_gbps", round(bus)).put("busbw_share_of_copy", round(bus / copy));
                }
        if (json) System.out.println(o);
        return 0;
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    /** Bytes copied per second, array to array (a read and a write of each byte), best of five. */
    static double memoryCopyGBps() {
        float[] a = new float[32 << 20], b = new float[a.length];
        java.util.Arrays.fill(a, 1f);
        double best = Double.MAX_VALUE;
        for (int i = 0; i < 6; i++) {
            long t0 = System.nanoTime();
            System.arraycopy(a, 0, b, 0, a.length);
            if (i > 0) best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        return a.length * 4.0 / best / 1e9;
    }

    /** Seconds per all-reduce of {@code floats} values over {@code n} ranks: the median of several after a warm-up. */
    static double time(String transport, int n, int floats) throws Exception {
        if (!transport.equals("tcp") && !transport.equals("shm")) throw new IllegalArgumentException("--transport takes tcp or shm, got " + transport);
        int reps = floats >= (32 << 20) / 4 ? 3 : floats >= (4 << 20) / 4 ? 5 : 20;
        ThreadRendezvous rendezvous = new ThreadRendezvous(n);
        CyclicBarrier start = new CyclicBarrier(n);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<double[]>> fs = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                int rank = r;
                Function<String, String[]> allGather = rendezvous.forRank(rank);
                fs.add(pool.submit(() -> {
                    float[] data = new float[floats];
                    java.util.Arrays.fill(data, rank + 1);
                    double[] times = new double[reps];
                    TcpRing tcp = TcpRing.connect(rank, n, "127.0.0.1", allGather, Duration.ofSeconds(120));
                    try (Collective c = transport.equals("tcp") ? tcp : SharedMemoryCollective.over(tcp, "bench-" + n + "-" + floats, 120_000)) {
                        c.allReduceSum(data); // warm-up: JIT, socket buffers
                        for (int i = 0; i < reps; i++) {
                            start.await();
                            long t0 = System.nanoTime();
                            c.allReduceSum(data);
                            times[i] = (System.nanoTime() - t0) / 1e9;
                        }
                    }
                    return times;
                }));
            }
            double[] slowest = new double[reps];
            for (Future<double[]> f : fs) {
                double[] t = f.get();
                for (int i = 0; i < reps; i++) slowest[i] = Math.max(slowest[i], t[i]);
            }
            java.util.Arrays.sort(slowest);
            return slowest[reps / 2];
        } finally {
            pool.shutdownNow();
        }
    }
}
