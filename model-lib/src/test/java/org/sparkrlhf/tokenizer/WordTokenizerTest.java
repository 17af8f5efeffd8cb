package org.sparkrlhf.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WordTokenizerTest {
    private static final List<String> CORPUS = List.of("The cat sat on the mat.", "The dog sat on the log!", "A good dog, a good day.",
            "the the the good good");

    @Test
    void frequentPiecesAreOneTokenAndTheRestIsSpelledInBytes() {
        WordTokenizer tok = WordTokenizer.learn(CORPUS, 5);
        // counts: " the" 5, " good" 4, " sat" 2, " on" 2, " dog" 2, "The" 2, " a" 1 ...; ties in string order
        assertEquals(256 + WordTokenizer.SPECIALS.size() + 5, tok.vocabSize());
        int the = tok.encode(" the")[0];
        assertEquals(1, tok.encode(" the").length);
        assertEquals(1, tok.encode(" good").length);
        assertEquals(" the", tok.decode(new int[]{the}));
        int[] zebra = tok.encode(" zebra");
        assertEquals(6, zebra.length, "an unknown word is its bytes");
        for (int id : zebra) assertTrue(id < 256);
        assertArrayEquals(new int[]{tok.encode(" the")[0], tok.encode(" good")[0], '.'}, tok.encode(" the good."));
    }

    @Test
    void losslessOnAnyTextWithSpecials(@TempDir Path dir) throws Exception {
        WordTokenizer tok = WordTokenizer.learn(CORPUS, 50);
        String text = "<|user|>\nThe  cat's   résumé — 1961, naïve 😀\t!\n<|assistant|>\nA good dog<|endoftext|>";
        int[] ids = tok.encode(text);
        assertEquals(text, tok.decode(ids));
        assertEquals(256 + 2, ids[0], "<|user|> is one special token");
        assertEquals(tok.eosToken(), ids[ids.length - 1]);
        tok.write(dir.resolve("vocab.txt"));
        Tokenizer again = Tokenizers.create("words:" + dir.resolve("vocab.txt"));
        assertArrayEquals(ids, again.encode(text));
        assertEquals(tok.vocabSize(), again.vocabSize());
    }

    @Test
    void learntFromRealTextMostTokensAreWholeWords() throws Exception {
        List<String> brown = new java.util.ArrayList<>();
        for (String f : List.of("ca01", "ca02", "ca03", "cb01", "cc01", "cd01", "ce01", "cf01", "cg01", "ch01", "cj01", "ck01", "cl01", "cn01", "cp01", "cr01"))
            for (String line : java.nio.file.Files.readAllLines(TestData.file("brown/" + f))) // word/TAG text: keep the words
                if (!line.isBlank()) brown.add(line.trim().replaceAll("/[^\\s]+", ""));
        WordTokenizer tok = WordTokenizer.learn(brown, 4000);
        long tokens = 0, bytes = 0, chars = 0;
        for (String s : brown) {
            int[] ids = tok.encode(s);
            tokens += ids.length;
            for (int id : ids) if (id < 256) bytes++;
            chars += s.length();
            assertEquals(s, tok.decode(ids));
        }
        // bytes alone give 1 character per token; GPT-2 about 4 on English
        assertTrue(chars / (double) tokens > 3.0, "characters per token: " + chars / (double) tokens);
        assertTrue(bytes / (double) tokens < 0.5, "share of byte-fallback tokens: " + bytes / (double) tokens);
    }
}
