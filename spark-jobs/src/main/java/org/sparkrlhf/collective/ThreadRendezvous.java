package org.sparkrlhf.collective;

import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.function.Function;

/** The rendezvous of ranks that are threads of one JVM (benchmarks, tests): what the driver's stage tracker does for tasks. */
public final class ThreadRendezvous {
    private final String[] slots;
    private final CyclicBarrier barrier;

    public ThreadRendezvous(int ranks) {
        slots = new String[ranks];
        barrier = new CyclicBarrier(ranks);
    }

    /** Rank {@code rank}'s all-gather: its address in, every rank's out, once all have arrived. */
    public Function<String, String[]> forRank(int rank) {
        return address -> {
            try {
                slots[rank] = address;
                barrier.await();
                return slots.clone();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CollectiveException("rank " + rank + ": interrupted at the rendezvous", e);
            } catch (BrokenBarrierException e) {
                throw new CollectiveException("rank " + rank + ": another rank left the rendezvous", e);
            }
        };
    }
}
