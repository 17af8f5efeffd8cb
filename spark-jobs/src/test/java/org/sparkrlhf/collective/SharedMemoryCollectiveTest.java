package org.sparkrlhf.collective;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/** The shared-memory collective with threads as ranks: the TCP ring's bits exactly, small values, and failures named at once. */
class SharedMemoryCollectiveTest {

    static <T> List<T> onRanks(int n, Duration timeout, TcpRingTest.RankBody<T> body) throws Exception {
        String name = "test-" + System.nanoTime();
        return TcpRingTest.onRanks(n, timeout, ring -> {
            Collective c = SharedMemoryCollective.over(ring, name, timeout.toMillis());
            assertTrue(n == 1 || c instanceof SharedMemoryCollective, "ranks on one host share memory");
            return c;
        }, body);
    }

    @Test
    void sumsToTheTcpRingsBitsForAnySizeAndRankCount() throws Exception {
        for (int ranks : new int[]{2, 3, 4})
            for (int n : new int[]{1, 5, 300_001, SharedMemoryCollective.PIECE * 2 + 3}) {
                float[] want = TcpRingTest.expected(ranks, n);
                for (float[] g : onRanks(ranks, Duration.ofSeconds(20), c -> TcpRingTest.sumTwice(c, n)))
                    assertArrayEquals(want, g, ranks + " ranks, " + n + " values");
            }
    }

    @Test
    void smallValuesArriveFromEveryRankInRankOrder() throws Exception {
        List<double[][]> got = onRanks(3, Duration.ofSeconds(20), c -> {
            float[] v = TcpRingTest.values(c.rank(), 1000);
            double[][] withData = c.allReduceSum(v, new double[]{c.rank(), 10 + c.rank()});
            double[][] alone = c.allGather(new double[]{100 + c.rank()});
            double[][] large = c.allGather(new double[SharedMemoryCollective.SMALL + 1]); // more than a slot: over TCP
            assertEquals(3, large.length);
            assertEquals(SharedMemoryCollective.SMALL + 1, large[2].length);
            return new double[][]{withData[0], withData[2], alone[1]};
        });
        for (double[][] g : got) {
            assertArrayEquals(new double[]{0, 10}, g[0]);
            assertArrayEquals(new double[]{2, 12}, g[1]);
            assertArrayEquals(new double[]{101}, g[2]);
        }
    }

    @Test
    void aRankThatLeavesIsNamedAtOnceNotAfterTheTimeout() throws Exception {
        long t0 = System.nanoTime();
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, () -> onRanks(3, Duration.ofSeconds(60), c -> {
            if (c.rank() == 1) return null; // its task ends: the collective closes, TCP connections too
            c.allReduceSum(new float[10]);
            return null;
        }));
        assertTrue((System.nanoTime() - t0) / 1e9 < 20, "stopped long before the 60 s timeout");
        assertTrue(e.getCause().getMessage().contains("closed its connection"), e.getCause().getMessage());
    }

    @Test
    void aRankThatStopsAnsweringIsNamedAfterTheTimeout() throws Exception {
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, () -> onRanks(2, Duration.ofSeconds(2), c -> {
            if (c.rank() == 1) Thread.sleep(6000); // alive, connected, silent
            else c.allReduceSum(new float[10]);
            return null;
        }));
        assertTrue(e.getCause().getMessage().contains("rank 0: rank 1 did not reach the collective within 2 s"), e.getCause().getMessage());
    }
}
