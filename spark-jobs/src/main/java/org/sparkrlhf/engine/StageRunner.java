package org.sparkrlhf.engine;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;
import org.sparkrlhf.collective.Collective;
import org.sparkrlhf.collective.SharedMemoryCollective;
import org.sparkrlhf.collective.TcpRing;

/**
 * Runs barrier stages to success, for every trainer: checks up front that the ranks can run at
 * once, gives each attempt a tracker (the rendezvous, and live progress), and runs a failed stage
 * (a lost executor, a rank that stopped answering) again from its start, up to
 * {@code train.stageRetries} times. Spark itself does not retry a failed barrier result stage.
 */
final class StageRunner {

    /** One attempt: submit the stage with this tracker and return its (checked) result. */
    @FunctionalInterface
    interface Attempt<T> {
        T run(int attempt, String trackerAddress) throws Exception;
    }

    private final JavaSparkContext jsc;
    private final int ranks;
    private final StageSettings settings;
    private final List<String> retried = new ArrayList<>();

    StageRunner(JavaSparkContext jsc, int ranks, StageSettings settings) {
        BarrierStage.requireSlots(jsc.sc(), ranks, 60_000);
        this.jsc = jsc;
        this.ranks = ranks;
        this.settings = settings;
    }

    /** The failures that made a stage run again, in order: what the driver saw. */
    List<String> retried() {
        return Collections.unmodifiableList(retried);
    }

    /**
     * Runs {@code attempt} until it succeeds. {@code what} names the stage in messages ("the
     * training stage for steps 11-20"), {@code restart} where a retry starts ("step 10").
     */
    <T> T run(String what, String restart, Consumer<StepReport> live, Attempt<T> attempt) {
        for (int a = 0; ; a++) {
            if (a > 0) BarrierStage.requireSlots(jsc.sc(), ranks, 120_000); // a lost executor's replacement registers first
            ExecutorLosses losses = new ExecutorLosses();
            jsc.sc().addSparkListener(losses);
            try (StageTracker tracker = new StageTracker(jsc.getConf().get("spark.driver.host"), ranks, live)) {
                return attempt.run(a, tracker.address());
            } catch (TrainingDiverged e) {
                throw e;
            } catch (Exception e) { // Spark's job failure is a checked SparkException that Java does not see declared
                String reason = losses.await() + reason(e);
                if (a >= settings.stageRetries())
                    throw new StageFailed(what + " failed " + (a + 1) + " time(s), the limit (train.stageRetries = " + settings.stageRetries()
                            + "); last: " + reason, e);
                retried.add(reason);
                System.err.printf("%s failed (attempt %d of %d): %s; running it again from %s%n", what, a + 1, settings.stageRetries() + 1, reason, restart);
            } finally {
                jsc.sc().removeSparkListener(losses);
            }
        }
    }

    /**
     * The executors lost while a stage ran. A lost rank's neighbours usually fail first (their ring
     * connection closes), so the stage's own failure reason names a closed connection; the loss
     * itself reaches the driver as an event moments later, and the retry message names it.
     */
    private static final class ExecutorLosses extends SparkListener {
        private final List<String> lost = new CopyOnWriteArrayList<>();

        @Override
        public void onExecutorRemoved(SparkListenerExecutorRemoved e) {
            lost.add("executor " + e.executorId() + " was lost (" + e.reason() + ")");
        }

        /** "executor N was lost (why); " for each loss seen within a few seconds, or "" if none. */
        String await() {
            long deadline = System.currentTimeMillis() + 3000;
            while (lost.isEmpty() && System.currentTimeMillis() < deadline) {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            return lost.stream().map(l -> l + "; ").collect(Collectors.joining());
        }
    }

    /** What went wrong, as Spark reports a failed stage: its reason's lines up to any stack trace, on one line. */
    private static String reason(Throwable e) {
        String m = String.valueOf(e.getMessage());
        int at = m.indexOf("Most recent failure reason:");
        if (at >= 0) m = m.substring(at + "Most recent failure reason:".length());
        String text = m.lines().map(String::strip).takeWhile(l -> !l.startsWith("at ")).filter(l -> !l.isEmpty()).collect(Collectors.joining(" "));
        return text.length() > 500 ? text.substring(0, 500) + "..." : text;
    }

    /**
     * A rank's links for one stage: the ring among the ranks, and the connection to the driver's
     * tracker (rank 0 reports progress on it).
     */
    record Rank(int rank, int size, Collective ring, StageTracker.Member feed) implements AutoCloseable {
        /** Checks in at the tracker, learns every rank's ring address, and connects the ring. */
        static Rank join(BarrierTaskContext ctx, String trackerAddress, StageSettings settings) {
            int rank = ctx.partitionId(), size = ctx.getTaskInfos().length;
            Duration timeout = settings.collectiveTimeout();
            StageTracker.Member[] member = new StageTracker.Member[1];
            TcpRing tcp = TcpRing.connect(rank, size, host(ctx.getTaskInfos()[rank].address()), address -> {
                member[0] = StageTracker.Member.join(trackerAddress, rank, address, timeout);
                return member[0].addresses();
            }, timeout);
            String[] addresses = member[0].addresses();
            boolean oneHost = java.util.Arrays.stream(addresses).map(StageRunner::host).distinct().count() == 1;
            Collective ring = settings.sharedMemory() && oneHost
                    ? SharedMemoryCollective.over(tcp, Integer.toHexString(String.join(",", addresses).hashCode()), timeout.toMillis()) : tcp;
            return new Rank(rank, size, ring, member[0]);
        }

        @Override
        public void close() {
            ring.close();
            if (feed != null) feed.close();
        }
    }

    /** The host of a barrier task's "host:port" address: the rank listens there for its ring neighbour. */
    static String host(String address) {
        int colon = address.lastIndexOf(':');
        return colon > 0 && address.substring(colon + 1).matches("\\d+") ? address.substring(0, colon) : address;
    }

    /** A stage that kept failing after its retries. */
    public static final class StageFailed extends RuntimeException {
        StageFailed(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
