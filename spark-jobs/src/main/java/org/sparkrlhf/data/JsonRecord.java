package org.sparkrlhf.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;

/** The parsing steps every record type shares: one JSON object per record, chat messages. */
final class JsonRecord {
    private JsonRecord() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The record's JSON object, or null with {@code why[0]} saying what is wrong. */
    static JsonNode object(SourceLine src, String[] why) {
        try {
            JsonNode n = JSON.readTree(src.text());
            if (n != null && n.isObject()) return n;
            why[0] = "not a JSON object";
        } catch (Exception e) {
            why[0] = "not valid JSON: " + TextRecords.firstLine(e.getMessage());
        }
        return null;
    }

    /**
     * The turns a record asks to be answered: its chat {@code messages}, else its {@code prompt} as one
     * user turn; null with {@code why[0]} saying what is missing or bad.
     */
    static List<ChatTemplate.Turn> promptTurns(JsonNode n, String[] why) {
        if (n.has("messages")) return messages(n.get("messages"), why);
        JsonNode p = n.get("prompt");
        if (p == null || !p.isTextual() || p.asText().isBlank()) {
            why[0] = "missing or empty field 'prompt' (or give 'messages')";
            return null;
        }
        return List.of(new ChatTemplate.Turn("user", p.asText()));
    }

    /** Chat turns from a {@code messages} array, or null with {@code why[0]} saying which message is bad. */
    static List<ChatTemplate.Turn> messages(JsonNode msgs, String[] why) {
        if (!msgs.isArray() || msgs.isEmpty()) {
            why[0] = "'messages' must be a non-empty array";
            return null;
        }
        List<ChatTemplate.Turn> turns = new ArrayList<>();
        for (int i = 0; i < msgs.size(); i++) {
            JsonNode m = msgs.get(i);
            String role = m.path("role").asText("");
            if (!ChatTemplate.ROLES.contains(role)) {
                why[0] = "message " + i + " has role '" + role + "', expected one of " + ChatTemplate.ROLES;
                return null;
            }
            if (!m.path("content").isTextual() || m.get("content").asText().isBlank()) {
                why[0] = "message " + i + " has no content";
                return null;
            }
            turns.add(new ChatTemplate.Turn(role, m.get("content").asText()));
        }
        return turns;
    }
}
