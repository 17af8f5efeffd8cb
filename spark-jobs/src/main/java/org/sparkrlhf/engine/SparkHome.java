package org.sparkrlhf.engine;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A SPARK_HOME made of links to the jars on a classpath: enough for multi-JVM local-cluster mode
 * and standalone workers without a Spark download. (Spark also needs SPARK_SCALA_VERSION=2.12 in
 * the environment, or executors fail to find "build directories" and the job waits forever.)
 */
public final class SparkHome {
    private SparkHome() {}

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
                if (!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) Files.createSymbolicLink(link, p);
            }
        }
        return dirs;
    }
}
