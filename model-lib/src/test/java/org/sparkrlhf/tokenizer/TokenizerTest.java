package org.sparkrlhf.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.EncodingType;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;

class TokenizerTest {
    static final List<String> TEXTS = List.of(
            "Hello world", "  leading spaces and trailing  ", "naïve café — déjà vu", "数学と言語モデル",
            "emoji 🤖🚀 and symbols ∑∫√", "tabs\tand\nnewlines\r\n", "It's 3.14159, isn't it? \"Quoted\"", "");

    @Test
    void byteTokenizerRoundTripsAnyTextAndSpecials() {
        ByteTokenizer t = new ByteTokenizer(List.of("<|endoftext|>", "<|pad|>"));
        for (String s : TEXTS) assertEquals(s, t.decode(t.encode(s)));
        assertArrayEquals(new int[]{72, 105, 256, 257, 33}, t.encode("Hi<|endoftext|><|pad|>!"));
        assertEquals("Hi<|endoftext|>", t.decode(new int[]{72, 105, 256}));
        assertEquals(258, t.vocabSize());
        assertThrows(IllegalArgumentException.class, () -> t.decode(new int[]{258}));
    }

    @Test
    void gpt2IdsMatchKnownValues() {
        Gpt2Tokenizer t = new Gpt2Tokenizer();
        assertArrayEquals(new int[]{15496}, t.encode("Hello"));
        assertArrayEquals(new int[]{995}, t.encode(" world"));
        assertArrayEquals(new int[]{15496, 995, 50256}, t.encode("Hello world<|endoftext|>"));
        for (String s : TEXTS) assertEquals(s, t.decode(t.encode(s)));
        assertEquals(50257, t.vocabSize());
    }

    @Test
    void huggingFaceTokenizerJsonMatchesTheReferenceBpe() throws IOException {
        try (HuggingFaceTokenizer hf = new HuggingFaceTokenizer(TestData.file("cl100k-tokenizer.json"), null)) {
            assertArrayEquals(new int[]{9906}, hf.encode("Hello"));
            assertArrayEquals(new int[]{1917}, hf.encode(" world"));
            assertEquals(100257, hf.eosToken());
            assertArrayEquals(new int[]{9906, 100257}, hf.encode("Hello<|endoftext|>"));
            assertTrue(hf.vocabSize() >= 100257);
            var reference = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);
            // real text: the tokenizer file's own JSON keys and every test string, id for id
            List<String> lines = Files.readAllLines(TestData.file("cl100k-tokenizer.json")).stream().limit(200).toList();
            for (String s : concat(TEXTS, lines)) {
                if (s.contains("<|")) continue; // special-token strings: checked below, the reference treats them as text
                assertArrayEquals(reference.encodeOrdinary(s).toArray(), hf.encode(s), "ids for: " + s);
                assertEquals(s, hf.decode(hf.encode(s)));
            }
        }
    }

    @Test
    void missingTokenizerFileIsAClearError() {
        IOException e = assertThrows(IOException.class, () -> new HuggingFaceTokenizer(java.nio.file.Path.of("/nonexistent/tokenizer.json"), null));
        assertTrue(e.getMessage().contains("tokenizer file not found"), e.getMessage());
    }

    private static List<String> concat(List<String> a, List<String> b) {
        return java.util.stream.Stream.concat(a.stream(), b.stream()).toList();
    }
}
