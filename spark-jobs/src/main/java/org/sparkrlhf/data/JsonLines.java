package org.sparkrlhf.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** Small JSON-lines files on any Hadoop FileSystem, whole: the run records the driver writes and reads back. */
public final class JsonLines {
    private static final ObjectMapper JSON = new ObjectMapper();

    private JsonLines() {}

    /** Writes {@code lines} to {@code file} (replacing it), each ended by a newline. */
    public static void write(FileSystem fs, Path file, Iterable<String> lines) throws IOException {
        try (OutputStream out = fs.create(file, true)) {
            for (String l : lines) out.write((l + "\n").getBytes(StandardCharsets.UTF_8));
        }
    }

    /** Writes each record as one line. */
    public static void writeRecords(FileSystem fs, Path file, Iterable<? extends JsonNode> records) throws IOException {
        List<String> lines = new ArrayList<>();
        for (JsonNode r : records) lines.add(JSON.writeValueAsString(r));
        write(fs, file, lines);
    }

    /** The file's lines that are not blank, in order. */
    public static List<String> read(FileSystem fs, Path file) throws IOException {
        String text;
        try (InputStream in = fs.open(file)) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        List<String> out = new ArrayList<>();
        for (String l : text.split("\n")) if (!l.isBlank()) out.add(l);
        return out;
    }
}
