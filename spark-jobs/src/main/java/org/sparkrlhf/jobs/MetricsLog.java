package org.sparkrlhf.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.sparkrlhf.data.JsonLines;

/**
 * Per-step metrics as JSON lines in {@code RUN/metrics/NAME.jsonl}, with a Parquet copy for Spark
 * SQL at the end. The file is rewritten whole (temporary file, then rename) because not every
 * Hadoop FileSystem can append; on resume, lines past the checkpoint's step are dropped so the
 * file reads as one uninterrupted run.
 */
public final class MetricsLog {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final FileSystem fs;
    private final Path file;
    private final List<ObjectNode> rows = new ArrayList<>();

    public MetricsLog(FileSystem fs, Path runDir, String name, long resumeStep) throws IOException {
        this.fs = fs;
        this.file = new Path(runDir, "metrics/" + name + ".jsonl");
        if (resumeStep > 0 && fs.exists(file)) {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(fs.open(file), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    if (line.isBlank()) continue;
                    JsonNode n = JSON.readTree(line);
                    if (n.path("step").asLong() <= resumeStep) rows.add((ObjectNode) n);
                }
            }
        }
    }

    public ObjectNode newRow() {
        ObjectNode o = JSON.createObjectNode();
        rows.add(o);
        return o;
    }

    public void flush() throws IOException {
        Path tmp = new Path(file.getParent(), "." + file.getName() + ".tmp");
        JsonLines.writeRecords(fs, tmp, rows);
        fs.delete(file, false);
        if (!fs.rename(tmp, file)) throw new IOException("could not write " + file);
    }

    /** Writes {@code NAME.parquet} beside the JSON lines. */
    public void writeParquet(SparkSession spark) {
        String parquet = file.toString().replaceAll("\\.jsonl$", ".parquet");
        spark.read().json(file.toString()).coalesce(1).write().mode("overwrite").parquet(parquet);
    }

    public Path file() {
        return file;
    }
}
