package org.sparkrlhf.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.sparkrlhf.preference.AnnotatorPanel;
import org.sparkrlhf.preference.VaderLexicon;
import org.sparkrlhf.tokenizer.ByteTokenizer;

/** The comparison's per-set figures, against values worked out by hand. */
class ScoredSetTest {
    /** The gold panel on the real VADER lexicon. */
    private static AnnotatorPanel panel() throws Exception {
        try (InputStream in = Files.newInputStream(java.nio.file.Path.of(System.getProperty("rlhf.testdata", ".cache/testdata"), "vader_lexicon.txt"))) {
            return new AnnotatorPanel(VaderLexicon.read(in, "vader_lexicon.txt"), 0.1);
        }
    }

    @Test
    void distinctTwoCountsWordBigramsOverTheFirstSamplesOfEachPrompt() throws Exception {
        ByteTokenizer tok = new ByteTokenizer();
        String[][] texts = {{"a b c", "a b d"}, {"a b c", "x y"}};
        double[][] proxy = {{1, 2}, {4, 3}};
        List<PolicyEvaluation.Scored> items = new ArrayList<>();
        for (int p = 0; p < 2; p++)
            for (int k = 0; k < 2; k++) items.add(new PolicyEvaluation.Scored(p, k, tok.encode(texts[p][k]), proxy[p][k], p + k));
        ScoredSet set = ScoredSet.of(items, tok, panel());
        // samples 0 and 1: a-b, b-c | a-b, b-d | a-b, b-c | x-y: 4 distinct of 7
        assertEquals(4.0 / 7, set.distinct2(2), 1e-12);
        // sample 0 only: a-b, b-c twice: 2 distinct of 4
        assertEquals(0.5, set.distinct2(1), 1e-12);
        assertEquals(2, set.perPrompt());
        assertEquals(1.0, set.klMean(), 1e-12); // (0 + 1 + 1 + 2) / 4
        assertEquals(3.0, set.bestOfNProxy(2), 1e-12); // max(1, 2) and max(4, 3), averaged
    }

    @Test
    void theGainsErrorPairsTheSetsByPrompt() throws Exception {
        ByteTokenizer tok = new ByteTokenizer();
        // the SFT model: 3 samples on prompts 0, 1 and 2; the policy: 2 samples on prompts 0, 1 and 2 and one on prompt 5 (no SFT pair)
        String[][] sftTexts = {{"good", "bad", "ok"}, {"awful day", "a day", "sad"}, {"happy", "great fun", "nice"}};
        String[][] policyTexts = {{"great", "good"}, {"nice day", "bad"}, {"happy happy", "wonderful"}};
        List<PolicyEvaluation.Scored> sftItems = new ArrayList<>(), policyItems = new ArrayList<>();
        for (int p = 0; p < 3; p++) {
            for (int k = 0; k < 3; k++) sftItems.add(new PolicyEvaluation.Scored(p, k, tok.encode(sftTexts[p][k]), 0, 0));
            for (int k = 0; k < 2; k++) policyItems.add(new PolicyEvaluation.Scored(p, k, tok.encode(policyTexts[p][k]), 0, 0));
        }
        policyItems.add(new PolicyEvaluation.Scored(5, 0, tok.encode("terrible"), 0, 0));
        ScoredSet sft = ScoredSet.of(sftItems, tok, panel()), policy = ScoredSet.of(policyItems, tok, panel());
        double[] d = new double[3];
        for (int p = 0; p < 3; p++) {
            d[p] = (policy.gold(2 * p) + policy.gold(2 * p + 1)) / 2 - (sft.gold(3 * p) + sft.gold(3 * p + 1) + sft.gold(3 * p + 2)) / 3;
        }
        double mean = (d[0] + d[1] + d[2]) / 3, var = 0;
        for (double x : d) var += (x - mean) * (x - mean) / 2;
        assertTrue(var > 0, "the prompts gain differently: " + java.util.Arrays.toString(d));
        ScoredSet.Gain all = policy.goldGain(sft, p -> true);
        assertEquals(mean / sft.goldStd(), all.sd(), 1e-12); // prompt 5 has no SFT answers to pair with
        assertEquals(Math.sqrt(var / 3) / sft.goldStd(), all.standardError(), 1e-12);
        // a part of the prompts: its own mean gain; the parts, weighted by their prompts, add up to the whole
        ScoredSet.Gain some = policy.goldGain(sft, p -> p != 1), rest = policy.goldGain(sft, p -> p == 1);
        assertEquals((d[0] + d[2]) / 2 / sft.goldStd(), some.sd(), 1e-12);
        assertEquals(all.sd(), (2 * some.sd() + rest.sd()) / 3, 1e-12);
        assertEquals(Math.abs(d[0] - d[2]) / Math.sqrt(2) / Math.sqrt(2) / sft.goldStd(), some.standardError(), 1e-12);
        assertTrue(Double.isNaN(rest.standardError()), "one prompt gives no error");
        assertTrue(Double.isNaN(policy.goldGain(sft, p -> false).sd()), "no prompt, no gain");
    }
}
