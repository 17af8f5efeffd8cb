package org.sparkrlhf.engine;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/** A real local-mode Spark for tests, bound to loopback, without UI, scratch under target/. */
public final class LocalSpark {
    private LocalSpark() {}

    /** As {@link #start(String)}, with more settings as key, value pairs. */
    public static SparkSession start(String master, String... settings) {
        SparkConf conf = conf(master);
        for (int i = 0; i + 1 < settings.length; i += 2) conf.set(settings[i], settings[i + 1]);
        return SparkSession.builder().config(conf).getOrCreate();
    }

    private static SparkConf conf(String master) {
        return SparkDefaults.apply(new SparkConf())
                .setMaster(master)
                .setAppName("spark-rlhf-test")
                .set("spark.ui.enabled", "false")
                .set("spark.driver.host", "127.0.0.1")
                .set("spark.driver.bindAddress", "127.0.0.1")
                .set("spark.local.dir", "target/spark-local")
                .set("spark.sql.shuffle.partitions", "2");
    }

    public static JavaSparkContext jsc(SparkSession s) {
        return JavaSparkContext.fromSparkContext(s.sparkContext());
    }
}
