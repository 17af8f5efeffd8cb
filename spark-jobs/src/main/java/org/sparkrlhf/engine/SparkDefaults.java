package org.sparkrlhf.engine;

import org.apache.spark.SparkConf;

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
}
