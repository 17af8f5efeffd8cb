package org.sparkrlhf.data;

import com.fasterxml.jackson.databind.JsonNode;
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

    /** The conversation a record describes, or the reason it is unusable. */
    public static Parsed<List<ChatTemplate.Turn>> parse(SourceLine src, int maxChars) {
        String[] why = new String[1];
        JsonNode n = JsonRecord.object(src, why);
        if (n == null) return Parsed.bad(why[0], src);
        List<ChatTemplate.Turn> turns = new ArrayList<>();
        if (n.has("messages")) {
            turns = JsonRecord.messages(n.get("messages"), why);
            if (turns == null) return Parsed.bad(why[0], src);
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
