package org.sparkrlhf.data;

import com.fasterxml.jackson.databind.JsonNode;

/** Plain-text records for pre-training: {@code {"text": "..."}}. */
public final class TextRecords {
    private TextRecords() {}

    public static Parsed<String> parse(SourceLine src, int maxChars) {
        String[] why = new String[1];
        JsonNode n = JsonRecord.object(src, why);
        if (n == null) return Parsed.bad(why[0], src);
        JsonNode t = n.get("text");
        if (t == null) return Parsed.bad("missing field 'text'", src);
        if (!t.isTextual()) return Parsed.bad("field 'text' is not a string", src);
        if (t.asText().isBlank()) return Parsed.bad("empty text", src);
        if (t.asText().length() > maxChars) return Parsed.bad("text of " + t.asText().length() + " characters exceeds data.maxChars = " + maxChars, src);
        return Parsed.ok(t.asText(), src);
    }

    static String firstLine(String s) {
        if (s == null) return "";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
