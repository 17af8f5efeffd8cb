package org.sparkrlhf.preference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.sparkrlhf.tokenizer.TestData;

/** The harm measure, the refusal detector and the harm panel, on the real lexicons. */
class HarmPanelTest {
    static HarmLexicon lexicon;
    static VaderLexicon vader;

    @BeforeAll
    static void load() throws Exception {
        try (InputStream in = Files.newInputStream(TestData.file("badwords.js"))) {
            lexicon = HarmLexicon.read(in, "badwords.js");
        }
        try (InputStream in = Files.newInputStream(TestData.file("vader_lexicon.txt"))) {
            vader = VaderLexicon.read(in, "vader_lexicon.txt");
        }
    }

    @Test
    void lexiconFindsWordsAndPhrasesWhateverTheCaseAndPunctuation() {
        assertEquals(450, lexicon.size());
        assertEquals(List.of("bastard"), lexicon.find("You BASTARD!"));
        assertEquals(List.of("bitch", "bitch"), lexicon.find("bitch, bitch."));
        assertEquals(List.of("blow job"), lexicon.find("a Blow job, he said"));
        assertTrue(lexicon.find("The committee passed the bill after a long debate.").isEmpty());
        assertFalse(lexicon.unsafe("Assessment of classes"), "words that merely contain one are clean");
        assertTrue(lexicon.unsafe("what a dickhead"));
    }

    @Test
    void refusalsAreRecognizedByTheirOpening() {
        for (String t : Refusals.TEMPLATES) assertTrue(Refusals.isRefusal(t), t);
        assertTrue(Refusals.isRefusal("  I won\u2019t do it"));
        assertFalse(Refusals.isRefusal("The senate will not meet."));
        assertFalse(Refusals.isRefusal("He said I will not go."), "only an opening refusal counts");
    }

    @Test
    void harmIsEachRatersOwnSeverityOfTheWordsHeld() {
        HarmPanel panel = new HarmPanel(lexicon, vader, 1.0);
        // "bastard": VADER's ten raters' own ratings, negated, at least 1
        double expected = 0;
        for (int j = 0; j < 10; j++) expected += Math.max(1, -vader.rating("bastard", j));
        assertEquals(expected / 10, panel.goldHarm("that bastard"), 1e-12);
        assertEquals(2 * panel.harm(3, "bastard"), panel.harm(3, "bastard and bastard"), 1e-12);
        assertEquals(2.0, panel.harm(0, "b00bs"), 0, "a word no VADER rater rated counts 2");
        assertEquals(0.0, panel.goldHarm(Refusals.TEMPLATES.get(0)), 0, "a refusal is harmless");
        boolean differ = false;
        for (int j = 1; j < 10; j++) differ |= panel.harm(j, "damn bitch") != panel.harm(0, "damn bitch");
        assertTrue(differ, "the raters' sensitivity differs");
        // least harmful first, almost always at a low noise temperature
        HarmPanel sharp = new HarmPanel(lexicon, vader, 0.05);
        SplittableRandom rng = new SplittableRandom(1);
        int[] r = sharp.rank(2, List.of("you fucking bastard", "The bill passed.", "damn it"), rng);
        assertEquals(1, r[0]);
        assertEquals(0, r[2]);
    }

    @Test
    void safetyVerdictsFollowTheHarmWithThePanelsNoise() {
        HarmPanel panel = new HarmPanel(lexicon, vader, 0.5);
        String clean = "The bill passed.", harsh = "you fucking bastard";
        assertTrue(panel.harm(0, harsh) >= 3, "two offensive words");
        SplittableRandom rng = new SplittableRandom(7);
        int n = 20_000, cleanUnsafe = 0, harshSafe = 0;
        for (int i = 0; i < n; i++) {
            boolean[] v = panel.safetyVerdicts(0, List.of(clean, harsh), rng);
            if (!v[0]) cleanUnsafe++;
            if (v[1]) harshSafe++;
        }
        // sigmoid((0 - 1) / 0.5) = 0.119; a standard error of 0.0023 at n = 20,000
        assertEquals(0.1192, (double) cleanUnsafe / n, 0.01);
        double pSafe = 1 - 1 / (1 + Math.exp(-(panel.harm(0, harsh) - 1) / 0.5));
        assertEquals(pSafe, (double) harshSafe / n, 0.005);
        assertNull(new AnnotatorPanel(vader, 0.1).safetyVerdicts(0, List.of(clean), rng), "the helpfulness panel gives none");
    }

    @Test
    void helpfulOnlyRatersIgnoreOffensiveWordsAndPriceRefusals() {
        AnnotatorPanel plain = new AnnotatorPanel(vader, 0.1), helpful = plain.helpfulOnly(lexicon, -0.5);
        String text = "what a lovely bastard";
        assertTrue(plain.utility(0, text) < helpful.utility(0, text), "the offensive word no longer counts against it");
        assertEquals(plain.utility(4, "what a lovely"), helpful.utility(4, text), 1e-12, "it is as if it were not there");
        assertEquals(-0.5, helpful.utility(7, Refusals.TEMPLATES.get(1)), 0);
        assertEquals(-0.5, helpful.gold(Refusals.TEMPLATES.get(2)), 1e-12);
        assertEquals(plain.gold("The bill passed happily."), helpful.gold("The bill passed happily."), 1e-12, "clean text is judged as before");
    }
}
