package org.sparkrlhf.annotate;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.sparkrlhf.jobs.BrownText;

/** What the annotation tests share: a generate job's output made of Brown Corpus sentences. */
final class RoundFixture {
    static final ObjectMapper JSON = new ObjectMapper();

    private RoundFixture() {}

    /**
     * Writes {@code dir}/responses/part-00000 as {@code rlhf generate --samples k} would for
     * {@code prompts} prompts (consecutive Brown sentences: a prompt, then its k responses);
     * {@code special}, when not null, replaces prompt 0's response 1 (an XSS payload, say).
     */
    static Path generated(Path dir, int prompts, int k, String special) throws IOException {
        // short sentences, so a prompt and a response fit a small test model's context in bytes
        List<String> s = BrownText.sentences("ca01", "ca02", "ca03", "ca04", "ca05").stream().filter(t -> t.length() >= 20 && t.length() <= 100).toList();
        List<String> lines = new ArrayList<>();
        int at = 0;
        for (int p = 0; p < prompts; p++) {
            String prompt = s.get(at++ % s.size());
            for (int j = 0; j < k; j++) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("prompt_index", p);
                o.put("sample", j);
                o.put("prompt", prompt);
                o.put("response", p == 0 && j == 1 && special != null ? special : s.get(at++ % s.size()));
                lines.add(JSON.writeValueAsString(o));
            }
        }
        Path out = dir.resolve("responses");
        Files.createDirectories(out);
        Files.write(out.resolve("part-00000"), lines, StandardCharsets.UTF_8);
        return dir;
    }
}
