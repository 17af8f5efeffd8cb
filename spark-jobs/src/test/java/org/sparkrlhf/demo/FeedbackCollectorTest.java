package org.sparkrlhf.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkrlhf.data.Parsed;
import org.sparkrlhf.data.PreferenceRecords;
import org.sparkrlhf.data.SourceLine;
import org.sparkrlhf.engine.LocalSpark;
import org.sparkrlhf.engine.LocalSparkTest;
import org.sparkrlhf.jobs.BrownText;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.preference.AnnotatorPanel;
import org.sparkrlhf.preference.VaderLexicon;
import org.sparkrlhf.sampling.SamplingConfig;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tokenizer.ByteTokenizer;
import org.sparkrlhf.training.PreferenceGroup;

class FeedbackCollectorTest extends LocalSparkTest {
    @Test
    void rankingsFromTheSimulatedPanelAreValidPreferenceRecords(@TempDir java.nio.file.Path dir) throws Exception {
        VaderLexicon lexicon;
        try (InputStream in = Files.newInputStream(java.nio.file.Path.of(System.getProperty("rlhf.testdata", ".cache/testdata"), "vader_lexicon.txt"))) {
            lexicon = VaderLexicon.read(in, "vader_lexicon.txt");
        }
        List<String> prompts = BrownText.sentences("ca08").stream().filter(s -> s.length() > 10).limit(40).map(s -> s.substring(0, 10)).toList();
        Gpt policy = Gpt.init(GptConfig.of(257, 64, 32, 2, 1), DType.FLOAT32, 4);
        String out = dir.resolve("rankings").toUri().toString();
        long n = FeedbackCollector.collect(LocalSpark.jsc(spark), policy, "bytes", LocalSpark.jsc(spark).parallelize(prompts, 2), 4,
                SamplingConfig.of(1.0, 12, 256), new AnnotatorPanel(lexicon, 0.2), "pleasantness", 7, out);
        assertTrue(n >= 30 && n <= 40, n + " rankings of 40 prompts (those with an empty response are skipped)");
        Set<String> annotators = new HashSet<>();
        ByteTokenizer tok = new ByteTokenizer();
        for (String line : spark.read().textFile(out).collectAsList()) {
            Parsed<PreferenceGroup> p = PreferenceRecords.parse(new SourceLine("rankings", 1, line), 10_000, tok, 200);
            assertTrue(p.isOk(), line + " -> " + p.reason());
            assertEquals(6, p.value().pairs()); // 4 responses: all 6 pairs
            annotators.add(p.value().annotator());
        }
        assertTrue(annotators.size() >= 5, "rankings come from many annotators: " + annotators);
    }
}
