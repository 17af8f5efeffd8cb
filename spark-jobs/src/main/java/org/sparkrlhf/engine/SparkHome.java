package org.sparkrlhf.engine;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.SparkConf;
import org.sparkrlhf.config.ConfigException;

/**
 * A SPARK_HOME made of links to the jars on a classpath: enough for multi-JVM local-cluster mode
 * and standalone workers without a Spark download. (Spark also needs SPARK_SCALA_VERSION=2.12 in
 * the environment, or executors fail to find "build directories" and the job waits forever.)
 */
public final class SparkHome {
    private SparkHome() {}

    /**
     * Readies a {@code local-cluster} master from this JVM's classpath: its executors are JVMs that
     * Spark starts from {@code $SPARK_HOME/jars}, so the jars are linked there, and this project's
     * class directories go to {@code spark.executor.extraClassPath}. {@code bin/rlhf} sets the two
     * environment variables Spark reads; started another way, a clear error says what is missing.
     */
    public static void prepareLocalCluster(SparkConf conf) {
        String home = System.getenv("SPARK_HOME");
        if (home == null || !"2.12".equals(System.getenv("SPARK_SCALA_VERSION")))
            throw new ConfigException("--master " + conf.get("spark.master") + " starts executor JVMs from SPARK_HOME: set SPARK_HOME to a "
                    + "writable directory and SPARK_SCALA_VERSION=2.12 in the environment (bin/rlhf sets both), or use local[N]");
        try {
            List<String> dirs = layout(Path.of(home), System.getProperty("java.class.path"));
            String extra = String.join(File.pathSeparator, dirs);
            if (conf.contains("spark.executor.extraClassPath")) extra = conf.get("spark.executor.extraClassPath") + File.pathSeparator + extra;
            if (!extra.isEmpty()) conf.set("spark.executor.extraClassPath", extra);
        } catch (IOException e) {
            throw new ConfigException("--master " + conf.get("spark.master") + ": cannot lay out Spark's jars under SPARK_HOME " + home + " ("
                    + e.getMessage() + "); point SPARK_HOME at a writable directory");
        }
    }

    /** Links every jar of {@code classpath} into {@code home/jars}; returns the directories of the classpath (for extraClassPath). */
    public static List<String> layout(Path home, String classpath) throws IOException {
        Path jars = home.resolve("jars");
        Files.createDirectories(jars);
        List<String> dirs = new ArrayList<>();
        for (String entry : classpath.split(File.pathSeparator)) {
            if (entry.isBlank()) continue;
            Path p = Path.of(entry).toAbsolutePath();
            if (Files.isDirectory(p)) {
                dirs.add(p.toString());
            } else if (p.toString().endsWith(".jar") && Files.exists(p)) {
                Path link = jars.resolve(p.getFileName());
                if (Files.isSymbolicLink(link) && !Files.exists(link)) Files.delete(link); // its jar was rebuilt or removed
                if (!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) Files.createSymbolicLink(link, p);
            }
        }
        return dirs;
    }
}
