package org.sparkrlhf.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine;

/** {@code --version} of every command: this project's version (filled in by Maven), and the Spark and Java it runs on. */
public final class Version implements CommandLine.IVersionProvider {

    @Override
    public String[] getVersion() {
        return new String[]{"spark-rlhf " + project() + " (" + spark() + "Java " + System.getProperty("java.version") + ")"};
    }

    static String project() {
        try (InputStream in = Version.class.getResourceAsStream("version.properties")) {
            Properties p = new Properties();
            if (in != null) p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** Spark's version when Spark is on the classpath (model-lib's own commands run without it). */
    private static String spark() {
        try {
            Class<?> pkg = Class.forName("org.apache.spark.package$");
            Object module = pkg.getField("MODULE$").get(null);
            return "Spark " + pkg.getMethod("SPARK_VERSION").invoke(module) + ", ";
        } catch (ReflectiveOperationException | LinkageError e) {
            return "";
        }
    }
}
