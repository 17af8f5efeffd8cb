package org.sparkrlhf.engine;

import org.apache.hadoop.conf.Configuration;
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
        if (conf.get("spark.master").startsWith("local-cluster")) SparkHome.prepareLocalCluster(conf);
        conf.setIfMissing("spark.app.name", appName);
        conf.setIfMissing("spark.ui.showConsoleProgress", "false");
        SparkSession spark = SparkSession.builder().config(conf).getOrCreate();
        if (!conf.contains("spark.submit.deployMode")) spark.sparkContext().setLogLevel("WARN");
        return spark;
    }

    /**
     * The Hadoop configuration a job's files are read with, before Spark starts: Hadoop's own
     * (core-site.xml and so on from the classpath) plus the {@code spark.hadoop.*} settings that
     * spark-submit or the command line passed, as Spark itself would apply them.
     */
    public static Configuration hadoopConfiguration() {
        Configuration hadoop = new Configuration();
        for (scala.Tuple2<String, String> kv : new SparkConf().getAllWithPrefix("spark.hadoop.")) hadoop.set(kv._1(), kv._2());
        return hadoop;
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
