package org.sparkrlhf.jobs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.sparkrlhf.data.DemoCorpus;

/** Plain sentences from the Brown Corpus files fetched by bin/fetch-test-data (tags stripped). */
public final class BrownText {
    private BrownText() {}

    public static List<String> sentences(String... files) throws IOException {
        Path dir = Path.of(System.getProperty("rlhf.testdata", ".cache/testdata"), "brown");
        if (!Files.isDirectory(dir)) throw new IllegalStateException(dir + " is missing: run bin/fetch-test-data");
        return DemoCorpus.brownSentences(dir, files);
    }
}
