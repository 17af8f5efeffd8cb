package org.sparkrlhf.annotate;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparkrlhf.data.JsonLines;

/**
 * A round's generated items, kept in {@code _items/<round>/} of the feedback directory (hidden from
 * the reward job, which reads only the judgements) one batch per file, written whole then renamed,
 * so a restart serves exactly the texts annotators saw and never generates a batch twice.
 */
final class ItemStore {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final FileSystem fs;
    private final Path dir;

    ItemStore(FileSystem fs, Path feedbackDir, String round) throws IOException {
        this.fs = fs;
        this.dir = new Path(new Path(feedbackDir, "_items"), round);
        fs.mkdirs(dir);
    }

    /** Every stored item, in prompt order. */
    List<Item> load() throws IOException {
        List<Item> items = new ArrayList<>();
        FileStatus[] files = fs.listStatus(dir, p -> p.getName().startsWith("batch-") && p.getName().endsWith(".jsonl"));
        java.util.Arrays.sort(files, java.util.Comparator.comparing(f -> f.getPath().getName()));
        for (FileStatus f : files) for (String l : JsonLines.read(fs, f.getPath())) items.add(Item.fromJson(JSON.readTree(l)));
        items.sort(java.util.Comparator.comparingLong(Item::promptIndex));
        return items;
    }

    /** Stores a batch whole: a reader sees all of it or none. */
    void save(long from, List<Item> batch) throws IOException {
        StringBuilder text = new StringBuilder();
        for (Item it : batch) text.append(JSON.writeValueAsString(it.toJson())).append('\n');
        String name = String.format("batch-%010d.jsonl", from);
        Path tmp = new Path(dir, "." + name + ".tmp"), file = new Path(dir, name);
        try (OutputStream out = fs.create(tmp, true)) {
            out.write(text.toString().getBytes(StandardCharsets.UTF_8));
        }
        if (!fs.rename(tmp, file)) throw new IOException("could not store " + file);
    }
}
