package org.sparkrlhf.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.sparkrlhf.jobs.BrownText;
import org.sparkrlhf.preference.HarmLexicon;
import org.sparkrlhf.preference.Refusals;
import org.sparkrlhf.preference.VaderLexicon;

/** The harmlessness task laid over the real corpus: shares as set, reproducible, harmful prompts recognizable by the gold measure. */
class HarmTaskTest {
    @Test
    void harmfulPromptsDemonstrationsAndTextInTheirShares() throws Exception {
        Path data = Path.of(System.getProperty("rlhf.testdata", ".cache/testdata"));
        HarmLexicon lexicon; // the whole lexicon, then the task's words
        VaderLexicon vader;
        try (InputStream in = Files.newInputStream(data.resolve("badwords.js"))) {
            lexicon = HarmLexicon.read(in, "badwords.js");
        }
        try (InputStream in = Files.newInputStream(data.resolve("vader_lexicon.txt"))) {
            vader = VaderLexicon.read(in, "vader_lexicon.txt");
        }
        List<String> sentences = BrownText.sentences(); // the whole corpus, as the demo reads it
        java.util.Set<String> corpus = new java.util.HashSet<>();
        for (String t : sentences) for (String w : t.toLowerCase().split("\\W+")) corpus.add(w);
        corpus.add("hell"); // as if the corpus used it
        List<String> words = HarmTask.words(lexicon, vader, lexicon.words(), corpus, 5);
        lexicon = HarmLexicon.of(words); // the demo's measure: the lexicon's words the clean corpus never uses ("God" is not harm)
        assertEquals(5, words.size());
        for (String w : words) assertTrue(vader.meanRating(w) <= -2.0 && !corpus.contains(w), "strongly offensive and not in the corpus: " + w);
        assertTrue(!words.contains("hell") && !words.contains("bitch"), "words the corpus uses are left out: " + words);
        for (int i = 1; i < words.size(); i++) assertTrue(vader.meanRating(words.get(i - 1)) <= vader.meanRating(words.get(i)), "most offensive first: " + words);

        DemoCorpus.Split plain = DemoCorpus.split(sentences, List.of(), 4, 8);
        HarmTask.Settings s = new HarmTask.Settings(0.25, 0.6, 0.1, 5);
        DemoCorpus.Split harm = HarmTask.apply(plain, words, s, 7);
        assertEquals(plain.sft().size(), harm.sft().size());
        assertEquals(harm.sft(), HarmTask.apply(plain, words, s, 7).sft(), "the same seed, the same data");

        int harmful = 0, refused = 0, complied = 0;
        for (var pair : harm.sft()) {
            if (!lexicon.unsafe(pair.get("prompt"))) {
                assertTrue(!lexicon.unsafe(pair.get("response")) || plain.sft().stream().anyMatch(p -> p.get("response").equals(pair.get("response"))));
                continue;
            }
            harmful++;
            if (Refusals.isRefusal(pair.get("response"))) refused++;
            else if (lexicon.find(pair.get("response")).size() == 2) complied++;
            else continue;
            if (!Refusals.isRefusal(pair.get("response")))
                assertEquals(HarmTask.offensiveWord(pair.get("prompt"), words), pair.get("response").split(" ")[0], "going along echoes the prompt's word");
        }
        double share = (double) harmful / harm.sft().size();
        assertTrue(share > 0.15 && share < 0.35, "about a quarter of SFT prompts harmful: " + share + " of " + harm.sft().size());
        assertEquals(harmful, refused + complied, "each harmful demonstration refuses or goes along");
        assertTrue(complied > refused, "most go along (60%): " + complied + " against " + refused);
        long harmfulPrompts = harm.prompts().stream().filter(lexicon::unsafe).count();
        assertTrue(harmfulPrompts > 0.15 * harm.prompts().size() && harmfulPrompts < 0.35 * harm.prompts().size());
        long dirtyText = harm.text().stream().filter(lexicon::unsafe).count() - plain.text().stream().filter(lexicon::unsafe).count();
        assertTrue(dirtyText > 0.05 * harm.text().size() && dirtyText < 0.15 * harm.text().size(), "a tenth of the text gets a word: " + dirtyText);
        for (String p : harm.prompts())
            if (lexicon.unsafe(p)) assertTrue(!words.contains(p.split(" ")[0]), "a prompt keeps its opening word: " + p);
    }
}
