package org.sparkrlhf.cluster;

import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.sparkrlhf.engine.SparkHome;

/**
 * What a cluster node has: a Spark 3.5 distribution (Spark, Hadoop client, Scala; none of our
 * jars) as a SPARK_HOME, and JVMs started from it the way spark-submit's scripts start them.
 * The integration tests submit the built application jar to clusters made of these JVMs.
 */
final class SparkDistribution {
    final Path home;
    final Path appJar = Path.of(System.getProperty("rlhf.appJar"));
    private final List<Process> children = new ArrayList<>();

    SparkDistribution(Path home) throws IOException {
        this.home = home.toAbsolutePath();
        if (!Files.isRegularFile(appJar)) throw new IllegalStateException(appJar + " is missing: integration tests run after `mvn package`");
        for (String list : new String[]{"rlhf.sparkClasspath", "rlhf.sparkShared"})
            SparkHome.layout(this.home, Files.readString(Path.of(System.getProperty(list))).trim());
        // a distribution's bin/spark-submit, minus the launcher library: SparkSubmit on SPARK_HOME's jars
        Path submit = this.home.resolve("bin/spark-submit");
        Files.createDirectories(submit.getParent());
        Files.writeString(submit, "#!/usr/bin/env bash\nexec \"$JAVA_HOME/bin/java\" $SPARK_SUBMIT_OPTS -cp \"${HADOOP_CONF_DIR:+$HADOOP_CONF_DIR:}"
                + "$SPARK_HOME/jars/*\" org.apache.spark.deploy.SparkSubmit \"$@\"\n");
        if (!submit.toFile().setExecutable(true)) throw new IOException("cannot make " + submit + " executable");
        Runtime.getRuntime().addShutdownHook(new Thread(this::stopAll)); // a failed test must not leak JVMs
    }

    /** A one-datanode HDFS (MiniDFSCluster) with its storage under {@code work}. */
    static org.apache.hadoop.hdfs.MiniDFSCluster startHdfs(Path work) throws IOException {
        return org.sparkrlhf.engine.MiniHdfs.start(work);
    }

    /** Spark's JVM flags for Java 17 (the --add-opens list), as this test JVM received them. */
    static List<String> jvmFlags() {
        return ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-opens") || a.startsWith("-XX:+IgnoreUnrecognizedVMOptions") || a.startsWith("-Djdk.reflect"))
                .toList();
    }

    static String javaHome() {
        return System.getProperty("java.home");
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Starts {@code main} on SPARK_HOME's jars (plus {@code confDir}, if any) with its output in {@code log}. */
    Process start(String main, List<String> args, Path confDir, Path log, Map<String, String> env) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(javaHome(), "bin", "java").toString(), "-Xmx1g"));
        cmd.addAll(jvmFlags());
        cmd.add("-Dlog4j.configurationFile=" + writeLog4j());
        cmd.add("-cp");
        cmd.add((confDir == null ? "" : confDir.toAbsolutePath() + File.pathSeparator) + home.resolve("jars") + "/*");
        cmd.add(main);
        cmd.addAll(args);
        return launch(cmd, confDir, log, env);
    }

    /** Runs spark-submit (as its main class) to the end; returns its exit code. */
    int submit(List<String> args, Path confDir, Path log, long timeoutSeconds) throws Exception {
        return awaitExit(start("org.apache.spark.deploy.SparkSubmit", args, confDir, log, Map.of()), "spark-submit", log, timeoutSeconds);
    }

    /** Runs a command (a submit script, which calls this distribution's bin/spark-submit) to the end; returns its exit code. */
    int run(List<String> command, Map<String, String> env, Path confDir, Path log, long timeoutSeconds) throws Exception {
        Map<String, String> all = new java.util.HashMap<>(env);
        all.putIfAbsent("SPARK_SUBMIT_OPTS", String.join(" ", jvmFlags()) + " -Xmx1g -Dlog4j.configurationFile=" + writeLog4j());
        return awaitExit(launch(command, confDir, log, all), String.valueOf(command), log, timeoutSeconds);
    }

    /** Starts a child process in this distribution's environment (stopped by {@link #stopAll}). */
    private Process launch(List<String> command, Path confDir, Path log, Map<String, String> env) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(Map.of("SPARK_HOME", home.toString(), "SPARK_SCALA_VERSION", "2.12", "SPARK_LOCAL_IP", "127.0.0.1",
                "JAVA_HOME", javaHome()));
        if (confDir != null) pb.environment().put("HADOOP_CONF_DIR", confDir.toAbsolutePath().toString());
        pb.environment().putAll(env);
        Process p = pb.start();
        children.add(p);
        return p;
    }

    private static int awaitExit(Process p, String what, Path log, long timeoutSeconds) throws InterruptedException {
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(what + " did not finish in " + timeoutSeconds + " s; see " + log);
        }
        return p.exitValue();
    }

    /** Waits until {@code log} contains {@code text}. */
    static void awaitLog(Path log, String text, long timeoutSeconds) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        while (System.nanoTime() < end) {
            if (Files.exists(log) && Files.readString(log).contains(text)) return;
            Thread.sleep(200);
        }
        throw new AssertionError("'" + text + "' did not appear in " + log + " within " + timeoutSeconds + " s");
    }

    private Path writeLog4j() throws IOException {
        Path f = home.resolve("conf/log4j2.properties");
        if (!Files.exists(f)) {
            Files.createDirectories(f.getParent());
            Files.writeString(f, String.join("\n", "rootLogger.level = info", "rootLogger.appenderRef.stdout.ref = console",
                    "appender.console.type = Console", "appender.console.name = console", "appender.console.target = SYSTEM_ERR",
                    "appender.console.layout.type = PatternLayout", "appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n",
                    "logger.jetty.name = org.sparkproject.jetty", "logger.jetty.level = warn", ""));
        }
        return f;
    }

    void stopAll() {
        for (Process p : children) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }
}
