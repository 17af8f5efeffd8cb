package org.sparkrlhf.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import org.sparkrlhf.tokenizer.Tokenizer;
import org.sparkrlhf.training.LmExample;

/**
 * SFT records: {@code {"prompt": ..., "response": ...}} or a chat {@code {"messages": [{"role",
 * "content"}, ...]}}, both rendered through {@link ChatTemplate}. A record whose tokens do not fit
 * the model's context is quarantined, not silently cut.
 */
public final class SftRecords {
    private SftRecords() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The conversation a record describes, or the reason it is unusable. */
    public static Parsed<List<ChatTemplate.Turn>> parse(SourceLine src, int maxChars) {
        JsonNode n;
        try {
            n = JSON.readTree(src.text());
        } catch (Exception e) {
            return Parsed.bad("not valid JSON: " + TextRecords.firstLine(e.getMessage()), src);
        }
        if (n == null || !n.isObject()) return Parsed.bad("not a JSON object", src);
        List<ChatTemplate.Turn> turns = new ArrayList<>();
        if (n.has("messages")) {
            JsonNode msgs = n.get("messages");
            if (!msgs.isArray() || msgs.isEmpty()) return Parsed.bad("'messages' must be a non-empty array", src);
            for (int i = 0; i < msgs.size(); i++) {
                JsonNode m = msgs.get(i);
                String role = m.path("role").asText(""), content = m.path("content").isTextual() ? m.get("content").asText() : null;
                if (!ChatTemplate.ROLES.contains(role)) return Parsed.bad("message " + i + " has role '" + role + "', expected one of " + ChatTemplate.ROLES, src);
                if (content == null || content.isBlank()) return Parsed.bad("message " + i + " has no content", src);
                turns.add(new ChatTemplate.Turn(role, content));
            }
            if (turns.stream().noneMatch(t -> t.role().equals("assistant"))) return Parsed.bad("no assistant message to learn from", src);
        } else {
            for (String f : new String[]{"prompt", "response"}) {
                if (!n.has(f)) return Parsed.bad("missing field '" + f + "' (or give 'messages')", src);
                if (!n.get(f).isTextual() || n.get(f).asText().isBlank()) return Parsed.bad("field '" + f + "' is empty or not a string", src);
            }
            turns.add(new ChatTemplate.Turn("user", n.get("prompt").asText()));
            turns.add(new ChatTemplate.Turn("assistant", n.get("response").asText()));
        }
        int chars = turns.stream().mapToInt(t -> t.content().length()).sum();
        if (chars > maxChars) return Parsed.bad("text of " + chars + " characters exceeds data.maxChars = " + maxChars, src);
        return Parsed.ok(turns, src);
    }

    /** Parses and tokenizes; too many tokens for the context is a bad record. */
    public static Parsed<LmExample> parseAndEncode(SourceLine src, int maxChars, Tokenizer tok, int contextLength) {
        Parsed<List<ChatTemplate.Turn>> p = parse(src, maxChars);
        if (!p.isOk()) return new Parsed<>(null, p.file(), p.line(), p.reason(), p.raw());
        LmExample ex = ChatTemplate.encode(p.value(), tok);
        if (ex.tokens().length > contextLength + 1)
            return Parsed.bad(ex.tokens().length + " tokens do not fit model.contextLength = " + contextLength, src);
        return Parsed.ok(ex, src);
    }
}
