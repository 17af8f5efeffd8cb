package org.sparkrlhf.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Any Hugging Face {@code tokenizer.json}, run by the Rust tokenizers library through DJL's
 * bindings (natives bundled in the jar), so ids match the Python ecosystem exactly. The vocabulary
 * size and special ids are read from the file itself.
 */
public final class HuggingFaceTokenizer implements Tokenizer, AutoCloseable {
    private static final List<String> EOS_CANDIDATES = List.of("<|endoftext|>", "</s>", "<eos>", "<|eos|>", "<|end_of_text|>");
    private final ai.djl.huggingface.tokenizers.HuggingFaceTokenizer tokenizer;
    private final int vocabSize, eos;
    private final Path file;

    /** @param eosToken the end-of-sequence string, or null to pick a usual one found in the file */
    public HuggingFaceTokenizer(Path tokenizerJson, String eosToken) throws IOException {
        if (!Files.isRegularFile(tokenizerJson))
            throw new IOException("tokenizer file not found: " + tokenizerJson + " (expected a Hugging Face tokenizer.json)");
        this.file = tokenizerJson;
        JsonNode root = new ObjectMapper().readTree(tokenizerJson.toFile());
        int max = -1;
        for (JsonNode v : root.path("model").path("vocab")) max = Math.max(max, v.asInt());
        Integer eosId = null;
        for (JsonNode t : root.path("added_tokens")) {
            max = Math.max(max, t.path("id").asInt());
            String content = t.path("content").asText();
            if (eosToken != null ? content.equals(eosToken) : eosId == null && EOS_CANDIDATES.contains(content)) eosId = t.path("id").asInt();
        }
        if (max < 0) throw new IOException(tokenizerJson + ": no model.vocab found; is this a tokenizer.json?");
        if (eosId == null) {
            JsonNode v = root.path("model").path("vocab").path(eosToken == null ? "" : eosToken);
            if (!v.isMissingNode()) eosId = v.asInt();
        }
        if (eosId == null)
            throw new IOException(tokenizerJson + ": no end-of-sequence token " + (eosToken != null ? "'" + eosToken + "'" : "among " + EOS_CANDIDATES) + "; name one");
        this.vocabSize = max + 1;
        this.eos = eosId;
        this.tokenizer = ai.djl.huggingface.tokenizers.HuggingFaceTokenizer.newInstance(tokenizerJson,
                Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"));
    }

    @Override
    public int[] encode(String text) {
        long[] ids = tokenizer.encode(text, false, false).getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) out[i] = Math.toIntExact(ids[i]);
        return out;
    }

    @Override
    public String decode(int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocabSize) throw new IllegalArgumentException("id " + ids[i] + " is outside [0, " + vocabSize + ")");
            l[i] = ids[i];
        }
        return tokenizer.decode(l, false);
    }

    @Override public int vocabSize() { return vocabSize; }
    @Override public int eosToken() { return eos; }
    @Override public int padToken() { return eos; }
    @Override public String describe() { return "huggingface:" + file.getFileName(); }

    @Override
    public void close() {
        tokenizer.close();
    }
}
