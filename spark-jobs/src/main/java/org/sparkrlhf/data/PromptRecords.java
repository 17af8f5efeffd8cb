package org.sparkrlhf.data;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.sparkrlhf.tokenizer.Tokenizer;

/**
 * PPO prompts: {@code {"prompt": ...}} or a chat {@code {"messages": [...]}} to be answered, as the
 * chat template's prompt tokens, optionally marked {@code "harmful": true} (a red-team prompt, which
 * Safe RLHF's {@code ppo.harmfulCostLimit} holds to a limit of its own). A prompt that leaves no room
 * for the response is a bad record, as is a mark that is not true or false.
 */
public final class PromptRecords {
    private PromptRecords() {}

    /** A prompt's tokens, and whether it is marked harmful. */
    public record Prompt(int[] ids, boolean harmful) implements java.io.Serializable {}

    public static Parsed<Prompt> parse(SourceLine src, int maxChars, Tokenizer tok, int maxPromptTokens) {
        String[] why = new String[1];
        JsonNode n = JsonRecord.object(src, why);
        if (n == null) return Parsed.bad(why[0], src);
        List<ChatTemplate.Turn> turns = JsonRecord.promptTurns(n, why);
        if (turns == null) return Parsed.bad(why[0], src);
        JsonNode harmful = n.path("harmful");
        if (!harmful.isMissingNode() && !harmful.isBoolean()) return Parsed.bad("\"harmful\" must be true or false, got " + harmful, src);
        String text = ChatTemplate.prompt(turns);
        if (text.length() > maxChars) return Parsed.bad("text of " + text.length() + " characters exceeds data.maxChars = " + maxChars, src);
        int[] ids = tok.encode(text);
        if (ids.length > maxPromptTokens)
            return Parsed.bad(ids.length + " prompt tokens leave no room for ppo.maxNewTokens within model.contextLength", src);
        return Parsed.ok(new Prompt(ids, harmful.asBoolean(false)), src);
    }
}
