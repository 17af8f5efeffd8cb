package org.sparkrlhf.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * GPT-2's vocab.json + merges.txt, written from the r50k ranks and read back through the Rust
 * tokenizer, give exactly the ids of the GPT-2 tokenizer (jtokkit) on varied text.
 */
class BpeFilesTest {
    static final List<String> TEXTS = List.of(
            "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced no evidence.",
            "  leading spaces, trailing spaces  \n\nnew lines\ttabs and 123,456.78 numbers",
            "Unicode: café naïve résumé — “quotes” 日本語のテキスト 🙂 emoji",
            "def f(x):\n    return x ** 2  # code\n",
            "it's they're we'll I'd you've HELLO World ... !!!");

    @Test
    void gpt2FilesTokenizeExactlyAsGpt2(@TempDir Path dir) throws Exception {
        BpeFiles.writeGpt2(dir.resolve("vocab.json"), dir.resolve("merges.txt"));
        assertTrue(Files.readAllLines(dir.resolve("merges.txt")).size() > 49_000, "merges written");
        Tokenizer fromFiles = Tokenizers.create("hf:" + dir), gpt2 = Tokenizers.create("gpt2");
        assertEquals(50257, fromFiles.vocabSize());
        assertEquals(50256, fromFiles.eosToken());
        for (String t : TEXTS) {
            assertArrayEquals(gpt2.encode(t), fromFiles.encode(t), t);
            assertEquals(t, fromFiles.decode(fromFiles.encode(t)));
        }
    }

    @Test
    void aDirectoryWithoutTokenizerFilesIsNamed(@TempDir Path dir) {
        String m = org.junit.jupiter.api.Assertions.assertThrows(java.io.UncheckedIOException.class, () -> Tokenizers.create("hf:" + dir)).getMessage();
        assertTrue(m.contains("neither tokenizer.json nor vocab.json + merges.txt"), m);
    }
}
