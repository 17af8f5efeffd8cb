package org.sparkrlhf.jobs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Plain sentences from the Brown Corpus files fetched by bin/fetch-test-data (tags stripped). */
public final class BrownText {
    private BrownText() {}

    public static List<String> sentences(String... files) throws IOException {
        Path dir = Path.of(System.getProperty("rlhf.testdata", ".cache/testdata"), "brown");
        if (!Files.isDirectory(dir)) throw new IllegalStateException(dir + " is missing: run bin/fetch-test-data");
        List<String> out = new ArrayList<>();
        for (String f : files) {
            for (String line : Files.readAllLines(dir.resolve(f))) {
                if (line.isBlank()) continue;
                StringBuilder s = new StringBuilder();
                for (String tok : line.trim().split("\\s+")) {
                    int slash = tok.lastIndexOf('/');
                    String word = slash > 0 ? tok.substring(0, slash) : tok;
                    if (s.length() > 0 && !word.matches("[.,;:?!']+")) s.append(' ');
                    s.append(word);
                }
                out.add(s.toString());
            }
        }
        return out;
    }
}
