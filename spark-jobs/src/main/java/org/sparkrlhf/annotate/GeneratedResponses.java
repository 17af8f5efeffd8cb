package org.sparkrlhf.annotate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Responses from an earlier {@code rlhf generate --samples K} run (its {@code responses} JSON lines,
 * or the directory holding them): each prompt's first K samples form an item. Lets a team sample on
 * the cluster once and serve the annotation round from a small machine.
 */
final class GeneratedResponses implements ResponseSource {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final String location;
    private final List<String> prompts = new ArrayList<>();
    private final List<List<String>> responses = new ArrayList<>();

    GeneratedResponses(FileSystem fs, Path location, int k) throws IOException {
        this.location = location.toString();
        Path dir = fs.exists(new Path(location, "responses")) ? new Path(location, "responses") : location;
        if (!fs.exists(dir)) throw new IOException("--from-generated " + location + " does not exist (give a generate job's --out directory)");
        List<Path> files = new ArrayList<>();
        if (fs.getFileStatus(dir).isFile()) files.add(dir);
        else for (FileStatus s : fs.listStatus(dir)) if (!s.getPath().getName().startsWith("_") && !s.getPath().getName().startsWith(".") && s.isFile()) files.add(s.getPath());
        files.sort(null);
        Path made = new Path(dir.getParent(), "generate.json");
        // with the generate job's record of its tokenizer, responses lose their end token (as the policy's do)
        org.sparkrlhf.tokenizer.Tokenizer tok = null;
        if (fs.exists(made)) {
            try (InputStream in = fs.open(made)) {
                String spec = JSON.readTree(in).path("tokenizer").asText(null);
                if (spec != null) tok = org.sparkrlhf.tokenizer.Tokenizers.create(spec);
            }
        }
        TreeMap<Long, String> prompt = new TreeMap<>();
        TreeMap<Long, TreeMap<Long, String>> samples = new TreeMap<>();
        for (Path f : files) {
            String text;
            try (InputStream in = fs.open(f)) {
                text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            int line = 0;
            for (String l : text.split("\n")) {
                line++;
                if (l.isBlank()) continue;
                JsonNode n;
                try {
                    n = JSON.readTree(l);
                } catch (IOException e) {
                    throw new IOException(f + ", line " + line + ": not JSON (" + e.getMessage().lines().findFirst().orElse("") + "); --from-generated takes a generate job's output");
                }
                if (!n.path("prompt_index").canConvertToLong() || !n.path("sample").canConvertToLong() || !n.path("prompt").isTextual() || !n.path("response").isTextual())
                    throw new IOException(f + ", line " + line + ": needs prompt_index, sample, prompt and response (a generate job's output)");
                long p = n.get("prompt_index").asLong();
                prompt.put(p, n.get("prompt").asText());
                samples.computeIfAbsent(p, x -> new TreeMap<>()).put(n.get("sample").asLong(),
                        tok == null ? n.get("response").asText() : org.sparkrlhf.jobs.ResponseBatches.responseText(n, tok));
            }
        }
        for (var e : samples.entrySet()) {
            if (e.getValue().size() < k)
                throw new IOException("--from-generated " + location + ": prompt " + e.getKey() + " has " + e.getValue().size() + " samples but --responses is " + k
                        + " (generate with --samples " + k + " or more)");
            if (e.getKey() != prompts.size()) throw new IOException("--from-generated " + location + ": prompt indices are not 0.." + (samples.size() - 1) + " (missing " + prompts.size() + ")");
            prompts.add(prompt.get(e.getKey()));
            responses.add(new ArrayList<>(e.getValue().values()).subList(0, k));
        }
        if (prompts.isEmpty()) throw new IOException("--from-generated " + location + " holds no responses");
    }

    @Override
    public long prompts() {
        return prompts.size();
    }

    @Override
    public List<Item> batch(String round, long from, long to, int k) {
        List<Item> out = new ArrayList<>();
        for (long i = from; i < to; i++) out.add(new Item(Item.id(round, i), round, i, prompts.get((int) i), responses.get((int) i).subList(0, k)));
        return out;
    }

    @Override
    public String describe() {
        return "responses of " + location;
    }
}
