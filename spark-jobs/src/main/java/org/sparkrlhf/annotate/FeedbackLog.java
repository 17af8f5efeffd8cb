package org.sparkrlhf.annotate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.StreamCapabilities;

/**
 * Where annotators' judgements are kept, on any Hadoop FileSystem: JSON lines, one record per
 * submission, each written, flushed and synced before {@link #append} returns, so a server that
 * acknowledges only after it returns loses nothing it acknowledged. Every record carries the
 * client-made {@code submission_id}; a submission whose id is already stored (a retried or
 * double-clicked submit, or one resent after a restart) is acknowledged again and not stored twice.
 *
 * <p>Each opening of the log writes its own new file ({@code part-<start>-<uuid>.jsonl}): files on
 * HDFS take one writer and are not reopened for append after a crash, so a restarted server never
 * touches an earlier file. Opening reads every earlier file for the ids it holds; a last line cut
 * off by a crash (never acknowledged, since the sync had not returned) is skipped and counted.
 */
public final class FeedbackLog implements Closeable {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The client-made id every record carries. */
    public static final String ID = "submission_id";

    /** What {@link #append} did: stored the record, or found its id already stored. */
    public enum Outcome { STORED, DUPLICATE }

    private final FileSystem fs;
    private final Path dir, file;
    private final Set<String> ids = new HashSet<>();
    private final int tornLines;
    private FSDataOutputStream out;

    private FeedbackLog(FileSystem fs, Path dir, Path file, int tornLines) {
        this.fs = fs;
        this.dir = dir;
        this.file = file;
        this.tornLines = tornLines;
    }

    /** Opens the log in {@code dir} (created if missing), reading the ids of every record already there. */
    public static FeedbackLog open(FileSystem fileSystem, Path dir) throws IOException {
        return open(fileSystem, dir, r -> {});
    }

    /** As above, handing each stored record, in the order stored, to {@code replay} (the files are read once). */
    public static FeedbackLog open(FileSystem fileSystem, Path dir, java.util.function.Consumer<JsonNode> replay) throws IOException {
        FileSystem fs = syncing(fileSystem);
        fs.mkdirs(dir);
        Stored stored = read(fs, dir);
        Path file = new Path(dir, String.format("part-%d-%s.jsonl", System.currentTimeMillis(), UUID.randomUUID()));
        FeedbackLog log = new FeedbackLog(fs, dir, file, stored.tornLines());
        for (JsonNode r : stored.records()) {
            log.ids.add(r.get(ID).asText());
            replay.accept(r);
        }
        return log;
    }

    /**
     * The file system whose streams reach durable storage on sync: for local files the raw one (whose
     * streams fsync; the checksummed one holds back a partial checksum chunk on flush), else {@code fs}.
     */
    public static FileSystem syncing(FileSystem fs) {
        return fs instanceof LocalFileSystem local ? local.getRaw() : fs;
    }

    /** The records in a log directory, file by file in name order (so in the order they were stored), and the torn last lines skipped. */
    public record Stored(List<JsonNode> records, int tornLines) {}

    /** Reads every record stored in {@code dir} (none if it does not exist). */
    public static Stored read(FileSystem fileSystem, Path dir) throws IOException {
        FileSystem fs = syncing(fileSystem);
        List<JsonNode> records = new ArrayList<>();
        int torn = 0;
        if (!fs.exists(dir)) return new Stored(records, 0);
        FileStatus[] files = fs.listStatus(dir, p -> p.getName().endsWith(".jsonl"));
        java.util.Arrays.sort(files, java.util.Comparator.comparing(f -> f.getPath().getName()));
        for (FileStatus s : files) {
            String text;
            try (InputStream in = fs.open(s.getPath())) {
                text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            String[] lines = text.split("\n", -1);
            for (int i = 0; i < lines.length; i++) {
                if (lines[i].isEmpty()) continue;
                boolean last = i == lines.length - 1; // no newline after it: the write was cut off
                JsonNode record = last ? null : parse(lines[i]);
                if (record == null || !record.hasNonNull(ID)) {
                    if (last) {
                        torn++;
                        continue;
                    }
                    throw new IOException(s.getPath() + ", line " + (i + 1) + ": not a feedback record with a " + ID
                            + "; the feedback directory holds only this log's files (move other files elsewhere)");
                }
                records.add(record);
            }
        }
        return new Stored(records, torn);
    }

    private static JsonNode parse(String line) {
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Stores {@code record} (which must carry a non-empty {@code submission_id}) unless its id is
     * stored already; when this returns, the record is on the file system's durable storage.
     */
    public synchronized Outcome append(ObjectNode record) throws IOException {
        String id = record.path(ID).asText("");
        if (id.isBlank()) throw new IllegalArgumentException("a feedback record needs a " + ID);
        if (ids.contains(id)) return Outcome.DUPLICATE;
        if (out == null) {
            out = fs.create(file, false);
            if (!out.hasCapability(StreamCapabilities.HSYNC)) {
                out.close();
                fs.delete(file, false);
                out = null;
                throw new IOException("the feedback directory " + dir + " is on a file system that cannot sync a file while writing it ("
                        + fs.getScheme() + "), so a judgement could be acknowledged and then lost; put it on HDFS or local files");
            }
        }
        out.write((JSON.writeValueAsString(record) + "\n").getBytes(StandardCharsets.UTF_8));
        out.hflush();
        out.hsync(); // on HDFS, to the datanodes' disks; on local files, fsync
        ids.add(id);
        return Outcome.STORED;
    }

    /** Whether a submission with this id is stored. */
    public synchronized boolean contains(String submissionId) {
        return ids.contains(submissionId);
    }

    /** Records stored, by this opening and earlier ones. */
    public synchronized int size() {
        return ids.size();
    }

    /** Lines cut off by a crash that opening skipped (never acknowledged). */
    public int tornLines() {
        return tornLines;
    }

    public Path dir() {
        return dir;
    }

    @Override
    public synchronized void close() throws IOException {
        if (out != null) out.close();
        out = null;
    }
}
