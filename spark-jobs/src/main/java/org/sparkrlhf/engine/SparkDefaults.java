package org.sparkrlhf.engine;

import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * Settings that keep a synchronous training step cheap. Each is applied only where the user has
 * not set it: gradients come back inline with the task result instead of through the block
 * manager, broadcasts of float arrays skip compression (it costs more than it saves on noise-like
 * data), and tasks start without waiting for locality.
 */
public final class SparkDefaults {
    private SparkDefaults() {}

    public static SparkConf apply(SparkConf conf) {
        conf.setIfMissing("spark.task.maxDirectResultSize", String.valueOf(256L << 20));
        conf.setIfMissing("spark.rpc.message.maxSize", "512");
        conf.setIfMissing("spark.driver.maxResultSize", "4g");
        conf.setIfMissing("spark.broadcast.compress", "false");
        conf.setIfMissing("spark.locality.wait", "0s");
        return conf;
    }

    /**
     * The session of a command-line job: these defaults, the given master (else spark-submit's, else
     * local[*]), and, for a local run rather than spark-submit, warnings only, so the job's own
     * progress lines are what the user sees.
     */
    public static SparkSession cliSession(String master, String appName) {
        SparkConf conf = apply(new SparkConf());
        if (master != null) conf.setMaster(master);
        else conf.setIfMissing("spark.master", "local[*]");
        conf.setIfMissing("spark.app.name", appName);
        conf.setIfMissing("spark.ui.showConsoleProgress", "false");
        SparkSession spark = SparkSession.builder().config(conf).getOrCreate();
        if (!conf.contains("spark.submit.deployMode")) spark.sparkContext().setLogLevel("WARN");
        return spark;
    }

    /**
     * Ends a command's main with its exit code. In a cluster-mode driver a successful command returns
     * instead: on YARN, System.exit(0) before main returns makes the ApplicationMaster report the
     * application FAILED ("shutdown hook called before final status was reported") and retry it.
     */
    public static void exit(int code) {
        if (code == 0 && "cluster".equals(System.getProperty("spark.submit.deployMode"))) return;
        System.exit(code);
    }
}
