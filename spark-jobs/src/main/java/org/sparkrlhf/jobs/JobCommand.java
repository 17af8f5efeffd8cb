package org.sparkrlhf.jobs;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import org.sparkrlhf.config.ConfigLoader;
import org.sparkrlhf.config.JobConfig;
import org.sparkrlhf.engine.SparkDefaults;
import picocli.CommandLine.Option;

/**
 * What every training job's command line shares: a config file on any Hadoop FileSystem plus
 * {@code --set key=value} overrides, validated before Spark does any work.
 */
public abstract class JobCommand implements Callable<Integer> {

    @Option(names = "--config", description = "YAML or JSON job config (any Hadoop URI).")
    String config;

    @Option(names = "--set", description = "Override one key, e.g. --set train.steps=200 (repeatable).")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--master", description = "Spark master when not launched by spark-submit (default: local[*]).")
    String master;

    JobConfig loadConfig() throws java.io.IOException {
        return validate(ConfigLoader.load(JobConfig.class, "defaults.yaml", config, overrides).validate());
    }

    /** A job's own checks beyond the shared ones, also before Spark starts. */
    protected JobConfig validate(JobConfig cfg) {
        return cfg;
    }

    protected abstract TrainingLoop.Outcome run(SparkSession spark, JobConfig cfg) throws Exception;

    @Override
    public Integer call() throws Exception {
        try {
            return runJob();
        } catch (org.sparkrlhf.config.ConfigException | org.sparkrlhf.data.DataException e) {
            // a mistake in the config or the data: the message names the key or the file; no stack trace
            System.err.println("error: " + e.getMessage());
            return 2;
        }
    }

    private int runJob() throws Exception {
        JobConfig cfg = loadConfig(); // every config mistake surfaces here, before Spark starts
        SparkSession spark = SparkDefaults.cliSession(master, "spark-rlhf");
        try {
            TrainingLoop.Outcome o = run(spark, cfg);
            if (Double.isNaN(o.lastLoss())) // a recurring run with nothing new, or a run already at its last step
                System.out.printf("done: at step %d, nothing trained by this call; run directory %s%n", o.step(), o.runDir());
            else
                System.out.printf("done: %d steps, last loss %.4f, %d skipped; run directory %s%n", o.step(), o.lastLoss(), o.skippedSteps(), o.runDir());
            return 0;
        } finally {
            spark.stop();
        }
    }
}
