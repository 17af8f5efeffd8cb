package org.sparkrlhf.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.storage.StorageLevel;

/**
 * Separates good records from bad ones. Bad records are written, with file, line and reason, to
 * {@code RUN/quarantine/NAME.jsonl}; nothing is dropped silently. If the bad share passes the
 * configured limit the job stops with a message that says where to look.
 */
public final class Quarantine {
    private Quarantine() {}

    /** How many records were read and how many were bad. */
    public record Counts(long total, long bad) {
        public double badFraction() {
            return total == 0 ? 0 : (double) bad / total;
        }

        /** For the run's metrics: {@code PREFIXrecords} and {@code PREFIXbad_records}. */
        public void addTo(java.util.Map<String, Object> metrics, String prefix) {
            metrics.put(prefix + "records", total);
            metrics.put(prefix + "bad_records", bad);
        }
    }

    /** The good records, and the counts. */
    public record Result<T>(JavaRDD<T> good, Counts counts, Path quarantineFile) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    public static <T> Result<T> apply(JavaRDD<Parsed<T>> parsed, FileSystem fs, Path runDir, String name, double maxBadFraction) throws IOException {
        return apply(parsed, fs, runDir, name, maxBadFraction, "data.maxBadFraction");
    }

    /** As above; {@code setting} names where the limit comes from in the message (a config key or a command's option). */
    public static <T> Result<T> apply(JavaRDD<Parsed<T>> parsed, FileSystem fs, Path runDir, String name, double maxBadFraction, String setting) throws IOException {
        parsed.persist(StorageLevel.MEMORY_AND_DISK());
        long total = parsed.count();
        List<Parsed<T>> bad = parsed.filter(p -> !p.isOk()).collect();
        Path file = new Path(runDir, "quarantine/" + name + ".jsonl");
        if (!bad.isEmpty()) {
            try (OutputStream out = fs.create(file, true)) {
                for (Parsed<T> b : bad) {
                    ObjectNode o = JSON.createObjectNode();
                    o.put("file", b.file());
                    o.put("line", b.line());
                    o.put("reason", b.reason());
                    o.put("record", b.raw());
                    out.write((JSON.writeValueAsString(o) + "\n").getBytes(StandardCharsets.UTF_8));
                }
            }
        }
        Counts counts = new Counts(total, bad.size());
        if (total == 0)
            throw new DataException("no records in " + name + " data" + (name.equals("eval")
                    ? ": the held-out share (data.evalFraction) of so few records is empty; add data, raise data.evalFraction or name data.eval"
                    : ": check that the config names the files you meant (data.train, ppo.prompts; empty lines are skipped)"));
        if (counts.badFraction() > maxBadFraction)
            throw new DataException(String.format("%d of %d %s records (%.1f%%) are malformed, above %s = %s; "
                    + "see %s for each one's file, line and reason", bad.size(), total, name, 100 * counts.badFraction(), setting, maxBadFraction, file));
        if (!bad.isEmpty()) // under the limit, but the user should know (and where to look)
            System.err.printf("%s data: %d of %d records (%.2f%%) are malformed and were set aside in %s with file, line and reason%n",
                    name, bad.size(), total, 100 * counts.badFraction(), file);
        return new Result<>(parsed.filter(Parsed::isOk).map(Parsed::value), counts, bad.isEmpty() ? null : file);
    }
}
