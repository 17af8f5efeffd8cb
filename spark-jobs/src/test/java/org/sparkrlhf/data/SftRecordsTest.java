package org.sparkrlhf.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.sparkrlhf.tokenizer.ByteTokenizer;
import org.sparkrlhf.training.LmExample;

class SftRecordsTest {
    static SourceLine line(String json) {
        return new SourceLine("f.jsonl", 3, json);
    }

    @Test
    void onlyAssistantContentAndItsEndTokenAreTargets() {
        ByteTokenizer tok = new ByteTokenizer();
        LmExample ex = SftRecords.parseAndEncode(line("{\"prompt\":\"Hi\",\"response\":\"Yo\"}"), 1000, tok, 100).value();
        String text = tok.decode(ex.tokens());
        assertEquals("<|user|>\nHi\n<|assistant|>\nYo<|endoftext|>", text);
        StringBuilder targets = new StringBuilder();
        for (int i = 0; i < ex.tokens().length; i++) if (ex.target()[i]) targets.append(tok.decode(new int[]{ex.tokens()[i]}));
        assertEquals("Yo<|endoftext|>", targets.toString());
        assertEquals(ChatTemplate.prompt(List.of(new ChatTemplate.Turn("user", "Hi"))), text.substring(0, text.indexOf("Yo")));
    }

    @Test
    void chatRecordsTrainOnEveryAssistantTurn() {
        ByteTokenizer tok = new ByteTokenizer();
        LmExample ex = SftRecords.parseAndEncode(line("{\"messages\":[{\"role\":\"system\",\"content\":\"Be kind\"},"
                + "{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\"},"
                + "{\"role\":\"user\",\"content\":\"c\"},{\"role\":\"assistant\",\"content\":\"d\"}]}"), 1000, tok, 200).value();
        StringBuilder targets = new StringBuilder();
        for (int i = 0; i < ex.tokens().length; i++) if (ex.target()[i]) targets.append(tok.decode(new int[]{ex.tokens()[i]}));
        assertEquals("b<|endoftext|>d<|endoftext|>", targets.toString());
    }

    @Test
    void badRecordsSayWhy() {
        ByteTokenizer tok = new ByteTokenizer();
        String[][] cases = {
                {"{\"prompt\":\"x\"}", "missing field 'response'"},
                {"{\"prompt\":\"x\",\"response\":\"\"}", "field 'response' is empty"},
                {"{\"messages\":[{\"role\":\"bot\",\"content\":\"x\"}]}", "role 'bot'"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "no assistant message"},
                {"{\"messages\":[]}", "non-empty array"},
                {"[1,2]", "not a JSON object"},
                {"{\"prompt\":\"" + "x".repeat(300) + "\",\"response\":\"y\"}", "do not fit model.contextLength = 64"},
        };
        for (String[] c : cases) {
            Parsed<LmExample> p = SftRecords.parseAndEncode(line(c[0]), 1000, tok, 64);
            assertFalse(p.isOk(), c[0]);
            assertTrue(p.reason().contains(c[1]), p.reason());
            assertEquals(3, p.line());
        }
    }
}
