package org.sparkrlhf.preference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.sparkrlhf.tokenizer.TestData;

class AnnotatorPanelTest {
    static VaderLexicon lexicon;

    @BeforeAll
    static void load() throws IOException {
        try (InputStream in = Files.newInputStream(TestData.file("vader_lexicon.txt"))) {
            lexicon = VaderLexicon.read(in, "vader_lexicon.txt");
        }
    }

    @Test
    void theRealLexiconCarriesTenRatingsPerToken() {
        assertTrue(lexicon.size() >= 7500, "entries: " + lexicon.size()); // 7,517 lines, a few tokens listed twice
        assertEquals(2, lexicon.rating("good", 0)); // good: [2, 1, 1, 3, 2, 4, 2, 2, 1, 1]
        assertEquals(4, lexicon.rating("good", 5));
        assertEquals(1.9, lexicon.meanRating("good"), 1e-12);
        assertEquals(null, lexicon.rating("table", 0));
    }

    @Test
    void everyAnnotatorPrefersPleasantTextAndGoldIsThePanelMean() {
        AnnotatorPanel panel = new AnnotatorPanel(lexicon, 0.1);
        String nice = "What a happy and good day, friends!", nasty = "What a terrible and awful day, enemies!";
        for (int j = 0; j < panel.size(); j++) assertTrue(panel.utility(j, nice) > panel.utility(j, nasty), "annotator " + j);
        // happy 2.7 + good 1.9 + friends (rated too) over 7 words
        assertEquals((2.7 + 1.9 + lexicon.meanRating("friends")) / 7, panel.gold(nice), 1e-12);
    }

    @Test
    void annotatorsDisagreeLikePeople() {
        AnnotatorPanel panel = new AnnotatorPanel(lexicon, 0.1);
        // clear contrasts everyone agrees on, close calls where tastes differ
        List<List<String>> groups = List.of(
                List.of("a wonderful gift", "a nice gift", "a bad gift", "a horrible gift"),
                List.of("a good win", "a nice win", "a fine win", "a great win"));
        double agreement = panel.agreement(groups);
        assertTrue(agreement > 0.6 && agreement < 0.95, "agreement " + agreement);
    }

    @Test
    void rankingsFollowBradleyTerryProbabilities() {
        AnnotatorPanel panel = new AnnotatorPanel(lexicon, 0.5);
        List<String> two = List.of("good", "happy"); // annotator 1 rates good 1 and happy 2
        double ua = panel.utility(1, "good"), ub = panel.utility(1, "happy");
        double pA = 1 / (1 + Math.exp(-(ua - ub) / 0.5));
        SplittableRandom rng = new SplittableRandom(3);
        int n = 100_000, aFirst = 0;
        for (int i = 0; i < n; i++) if (panel.rank(1, two, rng)[0] == 0) aFirst++;
        assertEquals(pA, (double) aFirst / n, 0.005);
        // the same seed gives the same ranking
        assertArrayEquals(panel.rank(3, List.of("good", "bad", "ok", "great"), new SplittableRandom(9)),
                panel.rank(3, List.of("good", "bad", "ok", "great"), new SplittableRandom(9)));
    }

    @Test
    void malformedLexiconLinesNameTheLine() {
        IOException e = assertThrows(IOException.class, () -> VaderLexicon.read(
                new ByteArrayInputStream("good\t1.9\t0.9\t[2, 1]\n".getBytes(StandardCharsets.UTF_8)), "lex.txt"));
        assertTrue(e.getMessage().contains("lex.txt:1: expected 10 ratings"), e.getMessage());
    }
}
