package org.sparkrlhf.jobs;

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
        if (!format.equals("jsonl") && !format.equals("parquet")) throw new IllegalArgumentException("--format must be jsonl or parquet, got '" + format + "'");
        if (!outFormat.equals("jsonl") && !outFormat.equals("parquet")) throw new IllegalArgumentException("--out-format must be jsonl or parquet, got '" + outFormat + "'");
    }
}
