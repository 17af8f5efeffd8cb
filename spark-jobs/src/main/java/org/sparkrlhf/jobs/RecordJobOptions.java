package org.sparkrlhf.jobs;

import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.sparkrlhf.engine.SparkDefaults;
import picocli.CommandLine.Option;

/** The options generate and score share: where records come from and go, how many tasks, bad-record limits, the master. */
final class RecordJobOptions {
    @Option(names = "--out", required = true, description = "The output directory (must not exist).")
    String out;
    @Option(names = "--format", defaultValue = "jsonl", description = "Format of the input records: jsonl or parquet (default: ${DEFAULT-VALUE}).")
    String format;
    @Option(names = "--out-format", defaultValue = "jsonl", description = "jsonl or parquet (default: ${DEFAULT-VALUE}).")
    String outFormat;
    @Option(names = "--tokenizer", description = "The tokenizer spec (default: the model's own).")
    String tokenizer;
    @Option(names = "--partitions", defaultValue = "0", description = "Spark tasks (default: the cluster's default parallelism).")
    int partitions;
    @Option(names = "--max-chars", defaultValue = "100000", description = "Longer records are quarantined (default: ${DEFAULT-VALUE}).")
    int maxChars;
    @Option(names = "--max-bad-fraction", defaultValue = "0.01", description = "Stop if more records than this share are malformed (default: ${DEFAULT-VALUE}).")
    double maxBadFraction;
    @Option(names = "--master", description = "Spark master (default: spark-submit's, else local[*]).")
    String master;
    @Option(names = "--verbose", description = "Print the stack trace with an error.")
    boolean verbose;

    void check() {
        if (!format.equals("jsonl") && !format.equals("parquet")) throw new OptionException("--format must be jsonl or parquet, got '" + format + "'");
        if (!outFormat.equals("jsonl") && !outFormat.equals("parquet")) throw new OptionException("--out-format must be jsonl or parquet, got '" + outFormat + "'");
    }

    /** A command's own checks, made before Spark starts. */
    interface Checks {
        void run() throws Exception;
    }

    /** A command's Spark job; returns the line that says what it wrote. */
    interface Job {
        String run(SparkSession spark) throws Exception;
    }

    /**
     * Runs a command: its checks, then its job on the command line's Spark session (stopped after),
     * printing the job's line; exit code 0, or a user error reported by name.
     */
    int execute(String appName, Checks checks, Job job) throws Exception {
        try {
            checks.run();
            SparkSession spark = SparkDefaults.cliSession(master, appName);
            try {
                System.out.println(job.run(spark));
                return 0;
            } finally {
                spark.stop();
            }
        } catch (Exception e) {
            return UserErrors.report(e, verbose, System.err);
        }
    }

    /** {@code --out}, which must not exist yet: nothing is overwritten. */
    Path newOutDir(Configuration hadoop) throws IOException {
        Path dir = new Path(out);
        if (dir.getFileSystem(hadoop).exists(dir)) throw new OptionException("--out " + out + " exists; name a new directory (nothing is overwritten)");
        return dir;
    }
}
