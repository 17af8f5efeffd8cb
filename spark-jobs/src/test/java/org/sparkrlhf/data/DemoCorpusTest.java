package org.sparkrlhf.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkrlhf.tokenizer.ByteTokenizer;

class DemoCorpusTest {
    static final Path BROWN = Path.of(System.getProperty("rlhf.testdata", ".cache/testdata"), "brown");

    @Test
    void theWholeBrownCorpusBecomesPlainSentences() throws Exception {
        List<String> all = DemoCorpus.brownSentences(BROWN);
        assertTrue(all.size() > 50_000, "sentences: " + all.size()); // 57,340 in the corpus
        assertEquals("The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced \" no evidence \" that any irregularities took place.",
                all.get(0));
    }

    @Test
    void fortunesAreSplitOnPercentLines(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("wisdom"), "First saying.\n%\nSecond,\n  on two lines.\n%\n", StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("wisdom.dat"), "binary index", StandardCharsets.UTF_8);
        assertEquals(List.of("First saying.", "Second,\n  on two lines."), DemoCorpus.fortunes(dir));
    }

    @Test
    void recordsSplitStablyAndParse(@TempDir Path out) throws Exception {
        List<String> sentences = DemoCorpus.brownSentences(BROWN, "ca01", "ca02", "ca03", "ca04");
        DemoCorpus.Counts c = DemoCorpus.write(DemoCorpus.split(sentences, List.of("A fortune."), 4, 8), out);
        assertEquals(sentences.size() + 1, c.text() + c.sft() + c.prompts());
        assertTrue(c.sft() > 10 && c.prompts() > 10, c.toString());
        ByteTokenizer tok = new ByteTokenizer();
        for (String l : Files.readAllLines(out.resolve("sft.jsonl")))
            assertTrue(SftRecords.parseAndEncode(new SourceLine("sft", 1, l), 10_000, tok, 512).isOk(), l);
        for (String l : Files.readAllLines(out.resolve("prompts.jsonl")))
            assertTrue(PromptRecords.parse(new SourceLine("p", 1, l), 10_000, tok, 512).isOk(), l);
        // the split depends on the text alone: writing again gives the same files
        Path again = out.resolve("again");
        DemoCorpus.write(DemoCorpus.split(sentences, List.of("A fortune."), 4, 8), again);
        assertEquals(Files.readAllLines(out.resolve("prompts.jsonl")), Files.readAllLines(again.resolve("prompts.jsonl")));
    }
}
