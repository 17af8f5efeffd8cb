package org.sparkrlhf.tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** Builds a tokenizer from its config name, so that executors can make their own copy. */
public final class Tokenizers {
    private Tokenizers() {}

    private static final java.util.Map<String, WordTokenizer> WORDS = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * {@code bytes}, {@code gpt2}, {@code hf:/path/to/tokenizer.json} or {@code words:/path/to/vocab.txt}
     * (paths local on every node; a word vocabulary is read once per JVM).
     */
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
        if (spec.startsWith("words:")) {
            return WORDS.computeIfAbsent(spec, k -> {
                try {
                    return WordTokenizer.read(Path.of(k.substring(6)));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
        throw new IllegalArgumentException("unknown tokenizer '" + spec + "': use bytes, gpt2, hf:/path/to/tokenizer.json or words:/path/to/vocab.txt");
    }
}
