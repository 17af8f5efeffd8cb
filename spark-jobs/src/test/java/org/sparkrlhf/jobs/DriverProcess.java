package org.sparkrlhf.jobs;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A job's driver as its own JVM (as spark-submit or bin/rlhf starts one), on the test classpath, output in files. */
final class DriverProcess {
    final Process process;
    final Path stdout, stderr;

    private DriverProcess(Process process, Path stdout, Path stderr) {
        this.process = process;
        this.stdout = stdout;
        this.stderr = stderr;
    }

    /** Starts {@code main} with {@code args}; {@code logs} gets NAME.out and NAME.err. */
    static DriverProcess start(Class<?> main, List<String> args, Path logs, String name) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx768m"));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream() // Spark's --add-opens list, as this JVM got it
                .filter(a -> a.startsWith("--add-opens") || a.startsWith("-XX:+IgnoreUnrecognizedVMOptions") || a.startsWith("-Djdk.reflect")).toList());
        // logging as bin/rlhf sets it: warnings only, without Hadoop's native-library notice (whichever SLF4J binding wins)
        cmd.addAll(List.of("-Dlog4j.configurationFile=" + Path.of("../bin/lib/log4j2-cli.properties").toAbsolutePath(),
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-Dorg.slf4j.simpleLogger.log.org.apache.hadoop.util.NativeCodeLoader=error"));
        cmd.addAll(List.of("-Dspark.ui.enabled=false", "-Dspark.local.dir=" + logs.resolve("spark-local"), "-cp", System.getProperty("java.class.path"),
                main.getName()));
        cmd.addAll(args);
        Files.createDirectories(logs);
        Path out = logs.resolve(name + ".out"), err = logs.resolve(name + ".err");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        pb.environment().put("OMP_NUM_THREADS", "1");
        return new DriverProcess(pb.start(), out, err);
    }

    /** Waits for the end; returns the exit code. */
    int await(long seconds) throws Exception {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError(stderr.getFileName() + " did not finish in " + seconds + " s:\n" + err());
        }
        return process.exitValue();
    }

    String out() {
        return read(stdout);
    }

    String err() {
        return read(stderr);
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The lines the command itself printed on stderr (Spark's and Hadoop's log lines left out). */
    List<String> errLines() {
        return err().lines().filter(l -> !l.matches("^\\d\\d/\\d\\d/\\d\\d \\d\\d:\\d\\d:\\d\\d .*|^\\d\\d:\\d\\d:\\d\\d .*|^SLF4J.*|^WARNING.*")).toList();
    }
}
