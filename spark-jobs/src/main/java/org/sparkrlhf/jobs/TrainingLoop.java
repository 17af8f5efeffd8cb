package org.sparkrlhf.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.SparkSession;
import org.sparkrlhf.checkpoint.CheckpointStore;
import org.sparkrlhf.config.JobConfig;
import org.sparkrlhf.engine.StageSettings;
import org.sparkrlhf.engine.StepReport;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.rundir.RunDirectory;
import org.sparkrlhf.training.Objective;

/**
 * The driver loop every training job shares, pre-training to PPO: start (fresh, from given
 * weights, or resumed from the newest valid checkpoint), then run barrier stages, record each
 * unit's metrics row, report progress, and checkpoint, until the target. A unit is an optimizer
 * step for pre-training, SFT and reward training, an iteration for PPO; what is trained in a
 * unit is the {@link Learner}'s business.
 */
public final class TrainingLoop {
    private static final ObjectMapper JSON = new ObjectMapper();

    private TrainingLoop() {}

    /** Called after every step; a test may throw from it to simulate a crash. */
    @FunctionalInterface
    public interface StepListener {
        void afterStep(StepReport report);
    }

    /** One job's training as the loop drives it; {@code R} is what a unit reports. */
    interface Learner<R> extends AutoCloseable {
        /** "step" or "iteration". */
        String unit();

        /** What the progress line and the outcome report: "loss", or PPO's "score". */
        String quantity();

        /** Units done so far. */
        long done();

        /** Where the next stage ends, on the way to {@code target} with a checkpoint every {@code checkpointEvery} units. */
        long stageEnd(long target, int checkpointEvery);

        /**
         * Runs one stage to {@code end}; {@code live} sees units as they finish (perhaps on another
         * thread). Returns every unit's report. {@code checkpointAtEnd}: the driver needs the
         * trained state at the end (else it may stay on the executors).
         */
        List<R> runStage(long end, boolean checkpointAtEnd, Consumer<R> live);

        long unitOf(R report);

        double valueOf(R report);

        /** Units whose update was skipped (not finite), over the run. */
        long skipped();

        /** The progress line for a unit. */
        String progressLine(Progress progress, R report);

        /** Fills a unit's metrics row. */
        void record(R report, ObjectNode row) throws IOException;

        /** Takes up the state of a checkpoint. */
        void restore(CheckpointStore.Checkpoint c) throws IOException;

        /** A checkpoint's files (beside state.json and config.json), and its fields of state.json. */
        Map<String, CheckpointStore.FileWriter> checkpointFiles(ObjectNode state);

        /** The model evaluated at checkpoints, and described by config.json. */
        Gpt model();

        /** Writes what the learner logs beside the metrics (PPO's samples); called whenever the metrics are. */
        default void flush() throws IOException {}

        /** Releases cached data. */
        @Override
        void close();
    }

    /** What a job adds to the loop: evaluation at checkpoints, and files saved beside the weights. */
    public interface Hooks {
        /** Evaluates the model; returns the checkpoint-ranking metric (higher is better) or null. Adds fields to the metrics row. */
        default Double evaluate(Gpt model, long step, ObjectNode row) throws IOException {
            return null;
        }

        /** Extra files for a checkpoint of this model. */
        default Map<String, CheckpointStore.FileWriter> extraFiles(Gpt model) throws IOException {
            return Map.of();
        }

        /** Ranks checkpoints by the evaluation metric rather than keeping only the newest. */
        default boolean higherIsBetter() {
            return true;
        }
    }

    static final Hooks NO_HOOKS = new Hooks() {};

    /**
     * Where a run ended: its step, and the last value of what it reports ({@code quantity}: a loss,
     * or PPO's score), NaN when this call trained nothing.
     */
    public record Outcome(long step, String quantity, double last, long skippedSteps, Path runDir) {}

    public static <E> Outcome run(SparkSession spark, JobConfig cfg, RunDirectory dir, TrainingRound round, GptConfig modelCfg,
                                  Objective<E> objective, JavaRDD<E> examples, String stage, Map<String, Object> dataCounts,
                                  StepListener listener) throws IOException {
        return run(spark, cfg, dir, round, modelCfg, objective, examples, stage, dataCounts, listener, NO_HOOKS);
    }

    /** Trains {@code round}'s steps of a supervised objective (from a checkpoint when resuming or recurring) in the claimed run directory. */
    public static <E> Outcome run(SparkSession spark, JobConfig cfg, RunDirectory dir, TrainingRound round, GptConfig modelCfg,
                                  Objective<E> objective, JavaRDD<E> examples, String stage, Map<String, Object> dataCounts,
                                  StepListener listener, Hooks hooks) throws IOException {
        SupervisedLearner<E> learner = new SupervisedLearner<>(spark, cfg, round, modelCfg, objective, examples, stage, dataCounts);
        return drive(spark, cfg, dir, stage, learner, round.resumeFrom(), round.endStep(), listener == null ? null : listener::afterStep, hooks);
    }

    /** The loop itself: restore, then stages until {@code target} units are done. */
    static <R> Outcome drive(SparkSession spark, JobConfig cfg, RunDirectory dir, String stage, Learner<R> learner,
                             Optional<CheckpointStore.Checkpoint> resumeFrom, long target, Consumer<R> listener, Hooks hooks) throws IOException {
        Path runDir = new Path(cfg.run().dir());
        FileSystem fs = cfg.runFileSystem(spark.sparkContext().hadoopConfiguration());
        CheckpointStore store = new CheckpointStore(fs, runDir, cfg.train().keepLast(), hooks.higherIsBetter());
        int checkpointEvery = cfg.train().checkpointEvery(), logEvery = cfg.train().logEvery();
        R last = null;
        try (learner) {
            if (resumeFrom.isPresent()) {
                learner.restore(resumeFrom.get());
                System.err.printf("%s: resuming from %s (%s %d)%n", stage, resumeFrom.get().dir(), learner.unit(), learner.done());
            }
            writeConfig(fs, runDir, cfg, learner.model().config());
            MetricsLog metrics = new MetricsLog(fs, runDir, stage, learner.done());
            Progress progress = new Progress(learner.done(), target);
            try {
                while (learner.done() < target) {
                    long end = learner.stageEnd(target, checkpointEvery);
                    List<R> reports = learner.runStage(end, end % checkpointEvery == 0 || end == target, r -> {
                        long u = learner.unitOf(r);
                        if (u % logEvery == 0 || u == target) System.err.println(learner.progressLine(progress, r));
                    });
                    ObjectNode row = null;
                    for (R r : reports) {
                        last = r;
                        row = metrics.newRow();
                        learner.record(r, row);
                        if (listener != null) listener.accept(r);
                    }
                    long done = learner.done();
                    if (done % checkpointEvery == 0 || done == target) {
                        dir.checkHeld(); // another run took the directory over: write nothing more
                        Double metric = hooks.evaluate(learner.model(), done, row);
                        metrics.flush();
                        learner.flush();
                        save(store, learner, cfg, done, metric, hooks.extraFiles(learner.model()));
                    }
                }
            } finally {
                if (dir.holds()) {
                    metrics.flush();
                    learner.flush();
                }
            }
            metrics.writeParquet(spark);
        }
        return new Outcome(learner.done(), learner.quantity(), last == null ? Double.NaN : learner.valueOf(last), learner.skipped(), runDir);
    }

    /** How this job's barrier stages run: threads per rank from spark.task.cpus, the collective's timeout and transport, retries. */
    static StageSettings stageSettings(SparkSession spark, JobConfig cfg) {
        return new StageSettings(Integer.parseInt(spark.sparkContext().getConf().get("spark.task.cpus", "1")),
                Duration.ofSeconds(cfg.train().collectiveTimeoutSeconds()), cfg.train().stageRetries(), cfg.train().collective().equals("auto"), null);
    }

    /** A recurring run with nothing new to train on: says so and ends where the last round did. */
    public static Outcome idle(JobConfig cfg, TrainingRound round, String stage) {
        System.err.printf("%s: %s; nothing to train (run directory %s, step %d)%n", stage, round.reason(), cfg.run().dir(), round.startStep());
        return new Outcome(round.startStep(), "loss", Double.NaN, 0, new Path(cfg.run().dir()));
    }

    /** {@code RUN/config.json}: the job's settings and the model's shape, as this call of the job ran. */
    static void writeConfig(FileSystem fs, Path runDir, JobConfig cfg, GptConfig modelCfg) throws IOException {
        ObjectNode o = JSON.createObjectNode();
        o.set("job", JSON.valueToTree(cfg));
        o.set("model", JSON.valueToTree(modelCfg));
        try (var out = fs.create(new Path(runDir, "config.json"), true)) {
            out.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(o));
        }
    }

    private static void save(CheckpointStore store, Learner<?> learner, JobConfig cfg, long done, Double metric,
                             Map<String, CheckpointStore.FileWriter> extra) throws IOException {
        ObjectNode state = JSON.createObjectNode();
        state.put("step", done);
        state.put("seed", cfg.run().seed());
        Map<String, CheckpointStore.FileWriter> files = new LinkedHashMap<>(extra);
        files.putAll(learner.checkpointFiles(state));
        files.put("state.json", out -> out.write(JSON.writeValueAsBytes(state)));
        files.put("config.json", out -> out.write(JSON.writeValueAsBytes(cfg)));
        store.save(done, files, metric);
    }
}
