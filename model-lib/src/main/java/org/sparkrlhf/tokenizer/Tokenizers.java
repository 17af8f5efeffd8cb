package org.sparkrlhf.tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** Builds a tokenizer from its config name, so that executors can make their own copy. */
public final class Tokenizers {
    private Tokenizers() {}

    /** {@code bytes}, {@code gpt2}, or {@code hf:/path/to/tokenizer.json} (a local path on every node). */
    public static Tokenizer create(String spec) {
        if (spec.equals("bytes")) return new ByteTokenizer();
        if (spec.equals("gpt2")) return new Gpt2Tokenizer();
        if (spec.startsWith("hf:")) {
            try {
                return new HuggingFaceTokenizer(Path.of(spec.substring(3)), null);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        throw new IllegalArgumentException("unknown tokenizer '" + spec + "': use bytes, gpt2 or hf:/path/to/tokenizer.json");
    }
}
