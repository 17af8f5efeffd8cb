package org.sparkrlhf.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.sparkrlhf.checkpoint.CheckpointStore;
import org.sparkrlhf.checkpoint.GptWeights;
import org.sparkrlhf.checkpoint.OptimizerStateIO;
import org.sparkrlhf.config.JobConfig;
import org.sparkrlhf.engine.BarrierTrainer;
import org.sparkrlhf.engine.ShardedData;
import org.sparkrlhf.engine.StageSettings;
import org.sparkrlhf.engine.StepReport;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.optim.AdamW;
import org.sparkrlhf.optim.LrSchedule;
import org.sparkrlhf.rundir.RunDirectory;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.training.Objective;

/**
 * The driver loop every training job shares: start (fresh, from given weights, or resumed from the
 * newest valid checkpoint), then step, record, report and checkpoint until the configured number
 * of steps.
 */
public final class TrainingLoop {
    private static final ObjectMapper JSON = new ObjectMapper();

    private TrainingLoop() {}

    /** Called after every step; a test may throw from it to simulate a crash. */
    @FunctionalInterface
    public interface StepListener {
        void afterStep(StepReport report);
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

    /** Trains {@code round}'s steps (from a checkpoint when resuming or recurring) in the claimed run directory {@code dir}. */
    public static <E> Outcome run(SparkSession spark, JobConfig cfg, RunDirectory dir, TrainingRound round, GptConfig modelCfg,
                                  Objective<E> objective, JavaRDD<E> examples, String stage, Map<String, Object> dataCounts,
                                  StepListener listener, Hooks hooks) throws IOException {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Path runDir = new Path(cfg.run().dir());
        FileSystem fs = runDir.getFileSystem(jsc.hadoopConfiguration());
        CheckpointStore store = new CheckpointStore(fs, runDir, cfg.train().keepLast(), hooks.higherIsBetter());
        JobConfig.Train t = cfg.train();
        LrSchedule schedule = new LrSchedule(LrSchedule.Kind.valueOf(t.schedule().toUpperCase()), t.lr(), t.minLr(), t.warmupSteps(), t.steps(),
                round.startStep());
        AdamW.Config optCfg = new AdamW.Config(schedule, 0.9, 0.95, 1e-8, t.weightDecay(), t.maxGradNorm());

        Gpt model;
        AdamW opt;
        long skipped = 0;
        Optional<CheckpointStore.Checkpoint> ckpt = round.resumeFrom();
        if (ckpt.isPresent()) {
            CheckpointStore.Checkpoint c = ckpt.get();
            Parameters p = c.read("weights.safetensors", (in, src) -> GptWeights.read(in, src, modelCfg, DType.FLOAT32));
            model = new Gpt(modelCfg, p);
            opt = new AdamW(optCfg, p.layout(), DType.FLOAT32);
            AdamW restored = opt;
            c.read("optimizer.safetensors", (in, src) -> {
                OptimizerStateIO.read(in, src, restored);
                return null;
            });
            skipped = c.read("state.json", (in, src) -> JSON.readTree(in)).path("skippedSteps").asLong();
            System.err.printf("%s: resuming from %s (step %d)%n", stage, c.dir(), c.step());
            if (cfg.run().recurring())
                System.err.printf("%s: round %d, steps %d to %d on %d data file(s): %s%n", stage, round.index(), round.startStep(), round.endStep(),
                        round.files().size(), round.reason());
        } else {
            model = Gpt.init(modelCfg, DType.FLOAT32, cfg.run().seed());
            if (!cfg.model().init().isEmpty()) ModelFiles.loadInit(fs.getConf(), cfg.model().init(), model.parameters(), stage);
            opt = new AdamW(optCfg, model.parameters().layout(), DType.FLOAT32);
        }
        writeConfig(fs, runDir, cfg, modelCfg);

        ShardedData<E> data = ShardedData.of(examples, t.partitions());
        BarrierTrainer<E> trainer = new BarrierTrainer<>(jsc, model, opt, objective, data, new BarrierTrainer.Settings(t.globalBatch(),
                t.microBatch(), cfg.run().seed(), t.maxBadSteps(), stageSettings(spark, cfg)));
        trainer.restoreCounters(skipped);
        MetricsLog metrics = new MetricsLog(fs, runDir, stage, opt.stepCount());
        Progress progress = new Progress(opt.stepCount(), round.endStep());
        StepReport last = null;
        try {
            while (opt.stepCount() < round.endStep()) {
                // one barrier stage per checkpoint interval; the progress line follows rank 0's steps as they happen
                long stageEnd = Math.min(round.endStep(), (opt.stepCount() / t.checkpointEvery() + 1) * t.checkpointEvery());
                List<StepReport> steps = trainer.runStage(stageEnd, r -> {
                    if (!r.skipped() && (r.step() % t.logEvery() == 0 || r.step() == round.endStep()))
                        System.err.println(progress.line(stage, r.step(), r.loss(), r.count() / (r.wallNanos() / 1e9)));
                });
                ObjectNode row = null;
                long skippedSoFar = trainer.skippedSteps() - steps.stream().filter(StepReport::skipped).count();
                for (StepReport r : steps) {
                    last = r;
                    if (r.skipped()) skippedSoFar++;
                    row = metrics.newRow();
                    row.put("step", r.step());
                    row.put("loss", r.loss());
                    if (!Double.isNaN(r.accuracy())) row.put("accuracy", r.accuracy());
                    row.put("count", r.count());
                    row.put("grad_norm", r.gradNorm());
                    row.put("lr", r.lr());
                    row.put("skipped", r.skipped());
                    row.put("skipped_total", skippedSoFar);
                    row.put("step_seconds", r.wallNanos() / 1e9);
                    row.put("spark_overhead_fraction", r.sparkOverheadFraction());
                    if (r.step() == 1 && !r.skipped()) for (Map.Entry<String, Object> c : dataCounts.entrySet()) row.set("data_" + c.getKey(), JSON.valueToTree(c.getValue()));
                    if (listener != null) listener.afterStep(r);
                }
                dir.checkHeld(); // another run took the directory over: write nothing more
                Double metric = hooks.evaluate(model, opt.stepCount(), row);
                metrics.flush();
                save(store, model, opt, trainer, cfg, round, modelCfg, opt.stepCount(), metric, hooks.extraFiles(model));
            }
        } finally {
            if (dir.holds()) metrics.flush();
            data.release();
        }
        metrics.writeParquet(spark);
        return new Outcome(opt.stepCount(), "loss", last == null ? Double.NaN : last.loss(), trainer.skippedSteps(), runDir);
    }

    /** How this job's barrier stages run: threads per rank from spark.task.cpus, the collective's timeout, retries. */
    static StageSettings stageSettings(SparkSession spark, JobConfig cfg) {
        return new StageSettings(Integer.parseInt(spark.sparkContext().getConf().get("spark.task.cpus", "1")),
                Duration.ofSeconds(cfg.train().collectiveTimeoutSeconds()), cfg.train().stageRetries(), null);
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

    private static void save(CheckpointStore store, Gpt model, AdamW opt, BarrierTrainer<?> trainer, JobConfig cfg,
                             TrainingRound round, GptConfig modelCfg, long step, Double metric, Map<String, CheckpointStore.FileWriter> extra) throws IOException {
        Map<String, CheckpointStore.FileWriter> files = new LinkedHashMap<>(extra);
        files.put("weights.safetensors", out -> GptWeights.write(out, modelCfg, model.parameters()));
        files.put("optimizer.safetensors", out -> OptimizerStateIO.write(out, opt));
        ObjectNode state = JSON.createObjectNode();
        state.put("step", step);
        state.put("skippedSteps", trainer.skippedSteps());
        state.put("seed", cfg.run().seed());
        state.put("dataStep", step + trainer.skippedSteps()); // the data cursor: next batch's position
        state.put("stepsPerEpoch", trainer.stepsPerEpoch());
        if (cfg.run().recurring()) state.set("round", round.toJson()); // what TrainingRound.plan reads next time
        files.put("state.json", out -> out.write(JSON.writeValueAsBytes(state)));
        files.put("config.json", out -> out.write(JSON.writeValueAsBytes(cfg)));
        store.save(step, files, metric);
    }
}
