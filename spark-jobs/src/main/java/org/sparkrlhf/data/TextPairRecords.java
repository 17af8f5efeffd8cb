package org.sparkrlhf.data;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.sparkrlhf.tokenizer.Tokenizer;

/**
 * Records for the generate and score commands: a prompt ({@code {"prompt": ...}} or chat
 * {@code {"messages": [...]}}), and for scoring a {@code "response"} too. Kept with its text so the
 * output can repeat it; token ids follow the chat template, as training saw them.
 */
public final class TextPairRecords {
    private TextPairRecords() {}

    /** A prompt's text as given, its template tokens, and (for scoring) the response's text and tokens plus EOS. */
    public record Pair(String prompt, int[] promptIds, String response, int[] responseIds) implements java.io.Serializable {}

    public static Parsed<Pair> parse(SourceLine src, int maxChars, Tokenizer tok, int maxTokens, boolean needsResponse) {
        String[] why = new String[1];
        JsonNode n = JsonRecord.object(src, why);
        if (n == null) return Parsed.bad(why[0], src);
        List<ChatTemplate.Turn> turns = JsonRecord.promptTurns(n, why);
        if (turns == null) return Parsed.bad(why[0], src);
        String shown = n.has("messages") ? n.get("messages").toString() : n.get("prompt").asText(); // the prompt as the record gave it
        String response = null;
        if (needsResponse) {
            JsonNode r = n.get("response");
            if (r == null || !r.isTextual()) return Parsed.bad("missing field 'response' (text; it may be empty)", src);
            response = r.asText();
        }
        String text = ChatTemplate.prompt(turns);
        int chars = text.length() + (response == null ? 0 : response.length());
        if (chars > maxChars) return Parsed.bad("text of " + chars + " characters exceeds --max-chars = " + maxChars, src);
        int[] ids = tok.encode(text);
        int[] resp = null;
        if (response != null) {
            int[] r = tok.encode(response);
            resp = java.util.Arrays.copyOf(r, r.length + 1);
            resp[r.length] = tok.eosToken(); // the reward model was trained on responses ending in EOS
        }
        int total = ids.length + (resp == null ? 0 : resp.length);
        if (total > maxTokens)
            return Parsed.bad(total + " tokens exceed the " + maxTokens + " the model allows here"
                    + (needsResponse ? " (model context)" : " (model context minus --max-new-tokens)"), src);
        return Parsed.ok(new Pair(shown, ids, response, resp), src);
    }
}
