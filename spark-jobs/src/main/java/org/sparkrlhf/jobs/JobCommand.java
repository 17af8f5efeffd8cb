package org.sparkrlhf.jobs;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;
import org.sparkrlhf.config.ConfigLoader;
import org.sparkrlhf.config.JobConfig;
import org.sparkrlhf.data.RecordFiles;
import org.sparkrlhf.engine.SparkDefaults;
import org.sparkrlhf.rundir.RunDirectory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What every training job's command line shares: a config file on any Hadoop FileSystem plus
 * {@code --set key=value} overrides. Before Spark starts it checks all it can: the config, that
 * the data and model files it names exist, and that the run directory may be used; a mistake
 * ends the command with one line and exit code 2 ({@link UserErrors}).
 */
public abstract class JobCommand implements Callable<Integer> {

    @Option(names = "--config", description = "YAML or JSON job config (any Hadoop URI).")
    String config;

    @Option(names = "--set", description = "Override one key, e.g. --set train.steps=200 (repeatable).")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--master", description = "Spark master, e.g. local[2], local-cluster[2,1,1024] or spark://host:7077. Default: the one "
            + "spark-submit or spark.master sets, else local[*] (every core of this machine).")
    String master;

    @Option(names = "--verbose", description = "Print the stack trace with an error.")
    boolean verbose;

    JobConfig loadConfig() throws IOException {
        return validate(ConfigLoader.load(JobConfig.class, "defaults.yaml", config, overrides).validate());
    }

    /** A job's own checks beyond the shared ones, also before Spark starts. */
    protected JobConfig validate(JobConfig cfg) {
        return cfg;
    }

    /** Before Spark starts: the files the config names exist (the job reads them later). */
    protected void checkInputs(JobConfig cfg, Configuration hadoop) throws IOException {
        RecordFiles.snapshot(hadoop, cfg.data().train(), "data.train");
        if (!cfg.data().eval().isEmpty()) RecordFiles.snapshot(hadoop, cfg.data().eval(), "data.eval");
        ModelFiles.requireExists(hadoop, "model.init", cfg.model().init());
    }

    protected abstract TrainingLoop.Outcome run(SparkSession spark, JobConfig cfg) throws Exception;

    private String jobName() {
        return getClass().getAnnotation(Command.class).name();
    }

    @Override
    public Integer call() throws Exception {
        try {
            return runJob();
        } catch (Exception e) {
            return UserErrors.report(e, verbose, System.err);
        }
    }

    private int runJob() throws Exception {
        JobConfig cfg = loadConfig(); // every config mistake surfaces here, before Spark starts
        Configuration hadoop = SparkDefaults.hadoopConfiguration();
        checkInputs(cfg, hadoop);
        RunDirectory.check(cfg, jobName(), hadoop);
        SparkSession spark = SparkDefaults.cliSession(master, "spark-rlhf");
        try {
            TrainingLoop.Outcome o = run(spark, cfg);
            if (Double.isNaN(o.last())) // a recurring run with nothing new, or a run already at its last step
                System.out.printf("done: at step %d, nothing trained by this call; run directory %s%n", o.step(), o.runDir());
            else
                System.out.printf("done: %d steps, last %s %.4f, %d skipped; run directory %s%n", o.step(), o.quantity(), o.last(), o.skippedSteps(), o.runDir());
            return 0;
        } finally {
            spark.stop();
        }
    }
}
