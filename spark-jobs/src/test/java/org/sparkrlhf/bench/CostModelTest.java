package org.sparkrlhf.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The scaling projection's cost model against hand-computed steps, and the shape its curves must have. */
class CostModelTest {
    // 1 TFLOP/s, ring copy rate 1 GB/s, 100 us a hop, 1 ns a parameter for AdamW, 30 ms a job, 80 ms a stage, 10 GB/s memory, 50 steps a stage
    static final CostModel M = new CostModel(1e12, 1e9, 100e-6, 1e-9, 0.030, 0.080, 10e9, 50);

    @Test
    void stepsAddUpAsDocumented() {
        double p = 1e8, tokens = 1000, link = 10e9 / 8; // 100M parameters, 10 Gbit/s
        CostModel.Step ring = M.ring(p, tokens, 4, link);
        assertEquals(6 * 1e8 * 1000 / 1e12, ring.compute(), 1e-12); // 0.6 s
        // 2(N-1) hops of latency, 2(N-1)/N of 400 MB at min(1.25 GB/s, 1 GB/s)
        assertEquals(6 * 100e-6 + 1.5 * 4e8 / 1e9, ring.communication(), 1e-12);
        assertEquals(1e-9 * 1e8 + (0.080 + 3 * 4e8 / link) / 50, ring.other(), 1e-12);
        CostModel.Step driver = M.driver(p, tokens, 4, link);
        // broadcast in ceil(log2 5) = 3 rounds, 4 gradients through one link
        assertEquals(4e8 / link * 3 + 4 * 4e8 / link, driver.communication(), 1e-9);
        assertEquals(0.030 + 4 * 4e8 / 10e9 + 1e-9 * 1e8, driver.other(), 1e-12);
        assertEquals(0, M.ring(p, tokens, 1, link).communication());
    }

    @Test
    void theRingsCostPerRankLevelsOffWhileTheDriversGrowsWithEveryExecutor() {
        double p = 124e6, tokens = 2048, link = 25e9 / 8;
        CostModel.Step one = M.ring(p, tokens, 1, link);
        double previousRing = 1, previousDriver = 1;
        for (int n = 2; n <= 256; n *= 2) {
            double ring = CostModel.efficiency(one, M.ring(p, tokens, n, link)), driver = CostModel.efficiency(M.driver(p, tokens, 1, link),
                    M.driver(p, tokens, n, link));
            assertTrue(ring <= previousRing + 1e-12 && driver <= previousDriver + 1e-12, "efficiency does not rise with executors");
            assertTrue(M.ring(p, tokens, n, link).total() < M.driver(p, tokens, n, link).total(), n + " executors: the ring's step is shorter");
            previousRing = ring;
            previousDriver = driver;
        }
        // bytes per rank approach 2x the buffer: from 128 to 256 executors the ring loses only latency
        double at128 = M.ring(p, tokens, 128, link).communication(), at256 = M.ring(p, tokens, 256, link).communication();
        assertEquals(at128, at256, 0.01 * at256 + 256 * 2 * 100e-6);
    }
}
