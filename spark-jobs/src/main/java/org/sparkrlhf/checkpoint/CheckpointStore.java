package org.sparkrlhf.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.DigestInputStream;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checkpoints under {@code RUN/checkpoints/step-NNNNNNN/} on any Hadoop FileSystem. A checkpoint is
 * written into a temporary directory, sealed with a manifest holding every file's sha256, and
 * published by one atomic directory rename, so a reader sees a whole checkpoint or none. Readers
 * trust a checkpoint only if its manifest verifies; the newest valid one wins. Old checkpoints are
 * pruned to the last N plus the best by evaluation metric.
 */
public final class CheckpointStore {
    private static final Logger LOG = LoggerFactory.getLogger(CheckpointStore.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String MANIFEST = "manifest.json";

    /** Writes one file's bytes. */
    @FunctionalInterface
    public interface FileWriter {
        void write(OutputStream out) throws IOException;
    }

    /** Reads one file's stream into a value. */
    @FunctionalInterface
    public interface FileReader<T> {
        T read(InputStream in, String source) throws IOException;
    }

    /** A verified checkpoint. */
    public record Checkpoint(long step, Path dir, Map<String, String> sha256, Double metric, FileSystem fs) {
        public InputStream open(String name) throws IOException {
            if (!sha256.containsKey(name)) throw new IOException("checkpoint " + dir + " has no file '" + name + "'");
            return fs.open(new Path(dir, name));
        }

        /** Opens, reads and closes one file (open HDFS streams hold datanode connections). */
        public <T> T read(String name, FileReader<T> reader) throws IOException {
            try (InputStream in = open(name)) {
                return reader.read(in, dir + "/" + name);
            }
        }
    }

    private final FileSystem fs;
    private final Path root;
    private final int keepLast;
    private final boolean higherIsBetter;

    public CheckpointStore(FileSystem fs, Path runDir, int keepLast, boolean higherIsBetter) {
        if (keepLast < 1) throw new IllegalArgumentException("checkpoint.keepLast must be >= 1, got " + keepLast);
        this.fs = fs;
        this.root = new Path(runDir, "checkpoints");
        this.keepLast = keepLast;
        this.higherIsBetter = higherIsBetter;
    }

    public static String dirName(long step) {
        return String.format("step-%07d", step);
    }

    /** Writes, seals and publishes a checkpoint; returns its directory. {@code metric} may be null. */
    public Path save(long step, Map<String, FileWriter> files, Double metric) throws IOException {
        fs.mkdirs(root);
        Path tmp = new Path(root, ".tmp-" + dirName(step) + "-" + UUID.randomUUID());
        Map<String, String> sums = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, FileWriter> f : files.entrySet()) {
                if (f.getKey().equals(MANIFEST) || f.getKey().contains("/")) throw new IllegalArgumentException("bad checkpoint file name '" + f.getKey() + "'");
                MessageDigest md = sha256();
                try (OutputStream out = new DigestOutputStream(fs.create(new Path(tmp, f.getKey()), false), md)) {
                    f.getValue().write(out);
                }
                sums.put(f.getKey(), HexFormat.of().formatHex(md.digest()));
            }
            ObjectNode m = JSON.createObjectNode();
            m.put("step", step);
            if (metric != null) m.put("metric", metric);
            m.set("sha256", JSON.valueToTree(sums));
            try (OutputStream out = fs.create(new Path(tmp, MANIFEST), false)) {
                out.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(m));
            }
            Path dst = new Path(root, dirName(step));
            if (fs.exists(dst)) fs.delete(dst, true); // a re-run of this step after resume replaces it
            if (!fs.rename(tmp, dst)) throw new IOException("could not publish checkpoint: rename " + tmp + " -> " + dst + " failed");
            prune();
            return dst;
        } catch (IOException | RuntimeException e) {
            fs.delete(tmp, true);
            throw e;
        }
    }

    /** The newest checkpoint whose manifest verifies; invalid newer ones are skipped with a warning. */
    public Optional<Checkpoint> latestValid() throws IOException {
        for (Path dir : published()) {
            try {
                return Optional.of(verify(dir));
            } catch (IOException e) {
                LOG.warn("ignoring checkpoint {}: {}; falling back to an older one", dir, e.getMessage());
            }
        }
        return Optional.empty();
    }

    /** Reads and checks a checkpoint's manifest and every file's hash. */
    public Checkpoint verify(Path dir) throws IOException {
        Path manifest = new Path(dir, MANIFEST);
        if (!fs.exists(manifest)) throw new IOException("no " + MANIFEST);
        JsonNode m;
        try (InputStream in = fs.open(manifest)) {
            m = JSON.readTree(in);
        }
        Map<String, String> sums = new LinkedHashMap<>();
        m.path("sha256").fields().forEachRemaining(e -> sums.put(e.getKey(), e.getValue().asText()));
        if (!m.has("step") || sums.isEmpty()) throw new IOException("malformed " + MANIFEST);
        for (Map.Entry<String, String> e : sums.entrySet()) {
            Path f = new Path(dir, e.getKey());
            if (!fs.exists(f)) throw new IOException("file " + e.getKey() + " is missing");
            MessageDigest md = sha256();
            try (InputStream in = new DigestInputStream(fs.open(f), md)) {
                in.transferTo(OutputStream.nullOutputStream());
            }
            String got = HexFormat.of().formatHex(md.digest());
            if (!got.equals(e.getValue())) throw new IOException("file " + e.getKey() + " has sha256 " + got + ", manifest says " + e.getValue());
        }
        Double metric = m.has("metric") ? m.get("metric").asDouble() : null;
        return new Checkpoint(m.get("step").asLong(), dir, sums, metric, fs);
    }

    /** The newest published checkpoint directory, verified or not. */
    public Optional<Path> newestPublished() throws IOException {
        List<Path> all = published();
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(0));
    }

    /**
     * Removes the temporary directories of checkpoint writes that never finished (a driver killed
     * mid-write). Only the holder of the run directory's lock calls this: no other writer can be
     * at work. Returns how many it removed.
     */
    public int removeUnfinished() throws IOException {
        if (!fs.exists(root)) return 0;
        int n = 0;
        for (FileStatus s : fs.listStatus(root))
            if (s.getPath().getName().startsWith(".tmp-") && fs.delete(s.getPath(), true)) n++;
        return n;
    }

    /** Published checkpoint directories, newest first. */
    List<Path> published() throws IOException {
        List<Path> out = new ArrayList<>();
        if (!fs.exists(root)) return out;
        for (FileStatus s : fs.listStatus(root))
            if (s.isDirectory() && s.getPath().getName().matches("step-\\d+")) out.add(s.getPath());
        out.sort(Comparator.comparing((Path p) -> p.getName()).reversed());
        return out;
    }

    /** Keeps the newest {@code keepLast} and the best by metric; removes the rest. */
    private void prune() throws IOException {
        List<Path> all = published();
        Path best = null;
        double bestMetric = 0;
        for (Path p : all) {
            Double metric = readMetric(p);
            if (metric != null && (best == null || (higherIsBetter ? metric > bestMetric : metric < bestMetric))) {
                best = p;
                bestMetric = metric;
            }
        }
        for (int i = keepLast; i < all.size(); i++)
            if (!all.get(i).equals(best)) fs.delete(all.get(i), true);
    }

    private Double readMetric(Path dir) {
        try (InputStream in = fs.open(new Path(dir, MANIFEST))) {
            var m = JSON.readTree(in);
            return m.has("metric") ? m.get("metric").asDouble() : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
