package org.sparkrlhf.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.sparkrlhf.checkpoint.CheckpointStore;
import org.sparkrlhf.checkpoint.OptimizerStateIO;
import org.sparkrlhf.config.JobConfig;
import org.sparkrlhf.engine.BarrierTrainer;
import org.sparkrlhf.engine.ShardedData;
import org.sparkrlhf.engine.StepReport;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.optim.AdamW;
import org.sparkrlhf.optim.LrSchedule;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.training.Objective;

/**
 * Pre-training, SFT and reward training as the driver loop sees them: a model and its AdamW
 * trained on an objective by {@link BarrierTrainer}, one barrier stage per checkpoint interval,
 * one metrics row per optimizer step.
 */
final class SupervisedLearner<E> implements TrainingLoop.Learner<StepReport> {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final JobConfig cfg;
    private final TrainingRound round;
    private final String stage;
    private final Map<String, Object> dataCounts;
    private final Gpt model;
    private final AdamW optimizer;
    private final ShardedData<E> data;
    private final BarrierTrainer<E> trainer;
    private long skippedSoFar;

    SupervisedLearner(SparkSession spark, JobConfig cfg, TrainingRound round, GptConfig modelCfg, Objective<E> objective, JavaRDD<E> examples,
                      String stage, Map<String, Object> dataCounts) throws IOException {
        this.cfg = cfg;
        this.round = round;
        this.stage = stage;
        this.dataCounts = dataCounts;
        JobConfig.Train t = cfg.train();
        LrSchedule schedule = new LrSchedule(LrSchedule.Kind.valueOf(t.schedule().toUpperCase()), t.lr(), t.minLr(), t.warmupSteps(), t.steps(),
                round.startStep());
        model = Gpt.init(modelCfg, DType.FLOAT32, cfg.run().seed());
        // a LoRA checkpoint holds only the adapters and heads: the base comes from model.init on a resume too
        if ((round.resumeFrom().isEmpty() || modelCfg.lora() != null) && !cfg.model().init().isEmpty())
            ModelFiles.loadInit(spark.sparkContext().hadoopConfiguration(), cfg.model().init(), model.parameters(), stage);
        // with LoRA the optimizer (and the gradient the ranks sum) covers the adapters and heads alone
        optimizer = new AdamW(new AdamW.Config(schedule, 0.9, 0.95, 1e-8, t.weightDecay(), t.maxGradNorm()), model.trainable().layout(), DType.FLOAT32);
        data = ShardedData.of(examples, t.partitions());
        trainer = new BarrierTrainer<>(JavaSparkContext.fromSparkContext(spark.sparkContext()), model, optimizer, objective, data,
                new BarrierTrainer.Settings(t.globalBatch(), t.microBatch(), cfg.run().seed(), t.maxBadSteps(), TrainingLoop.stageSettings(spark, cfg),
                        cfg.model().cuda()));
    }

    @Override
    public String unit() {
        return "step";
    }

    @Override
    public String quantity() {
        return "loss";
    }

    @Override
    public long done() {
        return optimizer.stepCount();
    }

    @Override
    public long stageEnd(long target, int checkpointEvery) {
        return Math.min(target, (done() / checkpointEvery + 1) * checkpointEvery);
    }

    @Override
    public List<StepReport> runStage(long end, boolean checkpointAtEnd, Consumer<StepReport> live) {
        return trainer.runStage(end, r -> {
            if (!r.skipped()) live.accept(r);
        });
    }

    @Override
    public long unitOf(StepReport r) {
        return r.step();
    }

    @Override
    public double valueOf(StepReport r) {
        return r.loss();
    }

    @Override
    public long skipped() {
        return trainer.skippedSteps();
    }

    @Override
    public String progressLine(Progress progress, StepReport r) {
        return progress.line(stage, r.step(), r.loss(), r.count() / (r.wallNanos() / 1e9));
    }

    @Override
    public void record(StepReport r, ObjectNode row) {
        if (r.skipped()) skippedSoFar++;
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
    }

    @Override
    public void restore(CheckpointStore.Checkpoint c) throws IOException {
        ModelFiles.restoreModel(c, "weights.safetensors", model);
        c.read("optimizer.safetensors", (in, src) -> {
            OptimizerStateIO.read(in, src, optimizer);
            return null;
        });
        skippedSoFar = c.read("state.json", (in, src) -> JSON.readTree(in)).path("skippedSteps").asLong();
        trainer.restoreCounters(skippedSoFar);
        if (cfg.run().recurring())
            System.err.printf("%s: round %d, steps %d to %d on %d data file(s): %s%n", stage, round.index(), round.startStep(), round.endStep(),
                    round.files().size(), round.reason());
    }

    @Override
    public Map<String, CheckpointStore.FileWriter> checkpointFiles(ObjectNode state) {
        long step = done();
        state.put("skippedSteps", trainer.skippedSteps());
        state.put("dataStep", step + trainer.skippedSteps()); // the data cursor: next batch's position
        state.put("stepsPerEpoch", trainer.stepsPerEpoch());
        if (cfg.run().recurring()) state.set("round", round.toJson()); // what TrainingRound.plan reads next time
        Map<String, CheckpointStore.FileWriter> files = new LinkedHashMap<>();
        // with LoRA the adapters and heads alone; their base is model.init (or the run seed's init)
        String base = cfg.model().init().isEmpty() ? "seed:" + cfg.run().seed() : cfg.model().init();
        files.put("weights.safetensors", out -> ModelFiles.writeModel(out, model, base));
        files.put("optimizer.safetensors", out -> OptimizerStateIO.write(out, optimizer));
        return files;
    }

    @Override
    public Gpt model() {
        return model;
    }

    @Override
    public void close() {
        data.release();
    }
}
