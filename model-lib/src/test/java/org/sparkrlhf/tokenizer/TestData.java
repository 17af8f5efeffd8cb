package org.sparkrlhf.tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;

/** Files fetched by bin/fetch-test-data; a missing one fails with the command that fetches it. */
public final class TestData {
    private TestData() {}

    public static Path file(String name) {
        Path dir = Path.of(System.getProperty("rlhf.testdata", ".cache/testdata"));
        Path p = dir.resolve(name);
        if (!Files.isRegularFile(p))
            throw new IllegalStateException("test data " + p + " is missing: run bin/fetch-test-data (the README's test command does)");
        return p;
    }
}
