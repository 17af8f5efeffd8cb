package org.sparkrlhf.data;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.sparkrlhf.tokenizer.Tokenizer;

/**
 * PPO prompts: {@code {"prompt": ...}} or a chat {@code {"messages": [...]}} to be answered, as the
 * chat template's prompt tokens. A prompt that leaves no room for the response is a bad record.
 */
public final class PromptRecords {
    private PromptRecords() {}

    public static Parsed<int[]> parse(SourceLine src, int maxChars, Tokenizer tok, int maxPromptTokens) {
        String[] why = new String[1];
        JsonNode n = JsonRecord.object(src, why);
        if (n == null) return Parsed.bad(why[0], src);
        List<ChatTemplate.Turn> turns = JsonRecord.promptTurns(n, why);
        if (turns == null) return Parsed.bad(why[0], src);
        String text = ChatTemplate.prompt(turns);
        if (text.length() > maxChars) return Parsed.bad("text of " + text.length() + " characters exceeds data.maxChars = " + maxChars, src);
        int[] ids = tok.encode(text);
        if (ids.length > maxPromptTokens)
            return Parsed.bad(ids.length + " prompt tokens leave no room for ppo.maxNewTokens within model.contextLength", src);
        return Parsed.ok(ids, src);
    }
}
