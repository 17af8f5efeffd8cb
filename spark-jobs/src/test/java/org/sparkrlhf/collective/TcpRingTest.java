package org.sparkrlhf.collective;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** The TCP ring with threads as ranks over loopback: exact sums in the documented order, the same bits everywhere, clear failures. */
class TcpRingTest {

    interface RankBody<T> {
        T run(Collective c) throws Exception;
    }

    /** How a rank joins: its TCP ring, connected, made into the collective under test. */
    interface Transport {
        Collective over(TcpRing ring);
    }

    static <T> List<T> onRanks(int n, Duration timeout, RankBody<T> body) throws Exception {
        return onRanks(n, timeout, ring -> ring, body);
    }

    /** Runs {@code body} on {@code n} ranks, threads of this JVM, each with its collective; every rank's result in rank order. */
    static <T> List<T> onRanks(int n, Duration timeout, Transport transport, RankBody<T> body) throws Exception {
        ThreadRendezvous ex = new ThreadRendezvous(n);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<T>> fs = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                int rank = r;
                fs.add(pool.submit(() -> {
                    try (Collective c = transport.over(TcpRing.connect(rank, n, "127.0.0.1", ex.forRank(rank), timeout))) {
                        return body.run(c);
                    }
                }));
            }
            List<T> out = new ArrayList<>();
            for (Future<T> f : fs) out.add(f.get());
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    static float[] values(int rank, int n) {
        SplittableRandom r = new SplittableRandom(1000 + rank);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextGaussian() * Math.exp(r.nextDouble() * 8 - 4)); // magnitudes that make order matter
        return v;
    }

    /** The ring's documented order: segment j summed from rank j onwards around the ring. */
    static float[] expected(int ranks, int n) {
        float[][] g = new float[ranks][];
        for (int r = 0; r < ranks; r++) g[r] = values(r, n);
        float[] out = new float[n];
        for (int j = 0; j < ranks; j++) {
            int lo = (int) ((long) n * j / ranks), hi = (int) ((long) n * (j + 1) / ranks);
            for (int i = lo; i < hi; i++) {
                float s = g[j][i];
                for (int k = 1; k < ranks; k++) s = g[(j + k) % ranks][i] + s;
                out[i] = s;
            }
        }
        return out;
    }

    @Test
    void everyRankGetsTheSameBitsInTheRingOrderForAnySize() throws Exception {
        for (int ranks : new int[]{1, 2, 3, 4})
            for (int n : new int[]{1, 5, TcpRing.CHUNK * 2 + 3, 300_001}) {
                float[] want = expected(ranks, n);
                for (float[] g : onRanks(ranks, Duration.ofSeconds(20), c -> sumTwice(c, n))) assertArrayEquals(want, g, ranks + " ranks, " + n + " values");
            }
    }

    /** This rank's values summed twice on the same collective (the second operation must agree with the first); the sum. */
    static float[] sumTwice(Collective c, int n) {
        float[] v = values(c.rank(), n);
        c.allReduceSum(v);
        float[] again = values(c.rank(), n);
        c.allReduceSum(again);
        assertArrayEquals(v, again);
        return v;
    }

    @Test
    void smallValuesRideAlongWithTheAllReduce() throws Exception {
        for (int ranks : new int[]{1, 2, 4}) {
            float[] want = expected(ranks, 100_003);
            List<double[][]> got = onRanks(ranks, Duration.ofSeconds(20), c -> {
                float[] v = values(c.rank(), 100_003);
                double[][] small = c.allReduceSum(v, new double[]{c.rank(), -c.rank()});
                assertArrayEquals(want, v);
                return small;
            });
            for (double[][] all : got)
                for (int r = 0; r < ranks; r++) assertArrayEquals(new double[]{r, -r}, all[r], ranks + " ranks");
        }
    }

    @Test
    void smallValuesAreGatheredByRankAndSummedInRankOrder() throws Exception {
        List<double[][]> got = onRanks(3, Duration.ofSeconds(20), c -> {
            double[] sum = c.allReduceSum(new double[]{c.rank() + 0.1, 1});
            assertArrayEquals(new double[]{0.1 + 1.1 + 2.1, 3}, sum);
            return c.allGather(new double[]{c.rank() * 10});
        });
        for (double[][] all : got) {
            assertEquals(3, all.length);
            for (int r = 0; r < 3; r++) assertArrayEquals(new double[]{r * 10}, all[r]);
        }
    }

    @Test
    void aRankThatStopsAnsweringEndsTheOthersWithinTheTimeoutNamingIt() throws Exception {
        long t0 = System.nanoTime();
        List<String> outcomes = onRanks(3, Duration.ofSeconds(2), c -> {
            if (c.rank() == 1) {
                Thread.sleep(6_000); // hangs: joins the operation far too late
                return "slept";
            }
            try {
                c.allReduceSum(new float[1000]);
                return "finished";
            } catch (CollectiveException e) {
                return e.getMessage();
            }
        });
        double seconds = (System.nanoTime() - t0) / 1e9;
        // rank 2 waits on rank 1 and times out naming it; rank 0 heard rank 2 keep alive, then its connection close, waiting for rank 1
        assertTrue(outcomes.get(2).startsWith("rank 2: rank 1 (127.0.0.1:") && outcomes.get(2).contains("stopped answering"), outcomes.get(2));
        assertTrue(outcomes.get(0).startsWith("rank 0: rank 2 (127.0.0.1:") && outcomes.get(0).contains("it was waiting for rank 1"), outcomes.get(0));
        assertTrue(seconds < 10, "ended after " + seconds + " s");
    }

    @Test
    void aRankWhoseConnectionClosesIsNamed() throws Exception {
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, () -> onRanks(2, Duration.ofSeconds(10), c -> {
            if (c.rank() == 0) {
                c.close(); // its task failed
                return null;
            }
            c.allReduceSum(new float[10]);
            return null;
        }));
        assertTrue(e.getCause().getMessage().contains("rank 1: rank 0 (127.0.0.1:") && e.getCause().getMessage().contains("closed its connection"),
                e.getCause().getMessage());
    }
}
