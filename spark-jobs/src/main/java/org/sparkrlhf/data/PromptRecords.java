package org.sparkrlhf.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import org.sparkrlhf.tokenizer.Tokenizer;

/**
 * PPO prompts: {@code {"prompt": ...}} or a chat {@code {"messages": [...]}} to be answered, as the
 * chat template's prompt tokens. A prompt that leaves no room for the response is a bad record.
 */
public final class PromptRecords {
    private PromptRecords() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    public static Parsed<int[]> parse(SourceLine src, int maxChars, Tokenizer tok, int maxPromptTokens) {
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
                String role = m.path("role").asText("");
                if (!ChatTemplate.ROLES.contains(role)) return Parsed.bad("message " + i + " has role '" + role + "', expected one of " + ChatTemplate.ROLES, src);
                if (!m.path("content").isTextual() || m.get("content").asText().isBlank()) return Parsed.bad("message " + i + " has no content", src);
                turns.add(new ChatTemplate.Turn(role, m.get("content").asText()));
            }
        } else {
            JsonNode p = n.get("prompt");
            if (p == null || !p.isTextual() || p.asText().isBlank()) return Parsed.bad("missing or empty field 'prompt' (or give 'messages')", src);
            turns.add(new ChatTemplate.Turn("user", p.asText()));
        }
        String text = ChatTemplate.prompt(turns);
        if (text.length() > maxChars) return Parsed.bad("text of " + text.length() + " characters exceeds data.maxChars = " + maxChars, src);
        int[] ids = tok.encode(text);
        if (ids.length > maxPromptTokens)
            return Parsed.bad(ids.length + " prompt tokens leave no room for ppo.maxNewTokens within model.contextLength", src);
        return Parsed.ok(ids, src);
    }
}
