package org.sparkrlhf.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.sparkrlhf.tokenizer.ByteTokenizer;
import org.sparkrlhf.training.PreferenceGroup;

class PreferenceRecordsTest {
    static final ByteTokenizer TOK = new ByteTokenizer();

    static Parsed<PreferenceGroup> parse(String json) {
        return PreferenceRecords.parse(new SourceLine("p.jsonl", 7, json), 10_000, TOK, 200);
    }

    @Test
    void aPairWithMarginAnnotatorAndCriterion() {
        PreferenceGroup g = parse("{\"prompt\":\"Q\",\"chosen\":\"good\",\"rejected\":\"bad\",\"margin\":1.5,\"annotator\":\"a7\",\"criterion\":\"harmlessness\"}").value();
        assertEquals(1, g.pairs());
        assertEquals(1.5, g.margins()[0]);
        assertEquals("a7", g.annotator());
        assertEquals("harmlessness", g.criterion());
        assertEquals("<|user|>\nQ\n<|assistant|>\ngood<|endoftext|>", TOK.decode(g.sequences()[g.chosen()[0]]));
    }

    @Test
    void aRankingBecomesAllPairsBestFirst() {
        PreferenceGroup g = parse("{\"prompt\":\"Q\",\"responses\":[\"mid\",\"best\",\"worst\"],\"ranking\":[1,0,2]}").value();
        assertEquals(3, g.pairs());
        assertTrue(TOK.decode(g.sequences()[0]).endsWith("best<|endoftext|>"));
        assertTrue(TOK.decode(g.sequences()[2]).endsWith("worst<|endoftext|>"));
        assertArrayEquals(new int[]{0, 0, 1}, g.chosen());
        assertArrayEquals(new int[]{1, 2, 2}, g.rejected());
    }

    @Test
    void safetyVerdictsFollowTheirResponsesIntoBestFirstOrder() {
        PreferenceGroup g = parse("{\"prompt\":\"Q\",\"responses\":[\"mid\",\"best\",\"worst\"],\"ranking\":[1,0,2],\"safe\":[null,true,false]}").value();
        assertArrayEquals(new int[]{PreferenceGroup.SAFE, PreferenceGroup.UNLABELLED, PreferenceGroup.UNSAFE}, g.safety());
        PreferenceGroup pair = parse("{\"prompt\":\"Q\",\"chosen\":\"good\",\"rejected\":\"bad\",\"safe\":[true,false]}").value();
        assertArrayEquals(new int[]{PreferenceGroup.SAFE, PreferenceGroup.UNSAFE}, pair.safety());
        assertArrayEquals(new int[]{0, 0}, parse("{\"prompt\":\"Q\",\"chosen\":\"good\",\"rejected\":\"bad\"}").value().safety(), "none given: none");
        PreferenceGroup app = parse("{\"prompt\":\"Q\",\"responses\":[\"a\",\"b\",\"c\"],\"ranking\":[2,0,1],"
                + "\"labels\":{\"helpful\":[\"bad\",null,null],\"harmless\":[\"good\",\"bad\",null]}}").value();
        assertArrayEquals(new int[]{PreferenceGroup.UNLABELLED, PreferenceGroup.SAFE, PreferenceGroup.UNSAFE}, app.safety(), "the annotation app's harmless labels");
    }

    @Test
    void badRecordsSayWhy() {
        String[][] cases = {
                {"{\"prompt\":\"Q\",\"responses\":[\"a\",\"b\",\"c\"],\"ranking\":[0,0,2]}", "not a permutation of 0..2"},
                {"{\"prompt\":\"Q\",\"responses\":[\"a\",\"b\"],\"ranking\":[0]}", "must list each of the 2 responses once"},
                {"{\"prompt\":\"Q\",\"responses\":[\"a\"],\"ranking\":[0]}", "at least 2"},
                {"{\"prompt\":\"Q\",\"chosen\":\"x\",\"rejected\":\"x\"}", "identical"},
                {"{\"prompt\":\"Q\",\"chosen\":\"x\"}", "'rejected'"},
                {"{\"chosen\":\"x\",\"rejected\":\"y\"}", "'prompt'"},
                {"{\"prompt\":\"Q\",\"chosen\":\"x\",\"rejected\":\"y\",\"margin\":-1}", "margin"},
                {"{\"prompt\":\"Q\",\"responses\":[\"a\",\"b\"],\"ranking\":[0,1],\"safe\":[true]}", "'safe' must be an array of 2 verdicts"},
                {"{\"prompt\":\"Q\",\"chosen\":\"x\",\"rejected\":\"y\",\"safe\":[true,\"no\"]}", "safe[1] is \"no\"; give true or false"},
                {"{\"prompt\":\"Q\",\"chosen\":\"x\",\"rejected\":\"y\",\"labels\":{\"harmless\":[\"good\"]}}", "'labels.harmless' must be an array of 2"},
                {"{\"prompt\":\"Q\",\"chosen\":\"" + "x".repeat(300) + "\",\"rejected\":\"y\"}", "beyond model.contextLength = 200"},
        };
        for (String[] c : cases) {
            Parsed<PreferenceGroup> p = parse(c[0]);
            assertFalse(p.isOk(), c[0]);
            assertTrue(p.reason().contains(c[1]), c[0] + " -> " + p.reason());
            assertEquals(7, p.line());
        }
    }
}
