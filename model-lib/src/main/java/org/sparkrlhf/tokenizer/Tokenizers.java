package org.sparkrlhf.tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** Builds a tokenizer from its config name, so that executors can make their own copy. */
public final class Tokenizers {
    private Tokenizers() {}

    private static final java.util.Map<String, WordTokenizer> WORDS = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * {@code bytes}, {@code gpt2}, {@code hf:/path/to/tokenizer.json} (or {@code hf:DIR}: its tokenizer.json,
     * else its vocab.json + merges.txt) or {@code words:/path/to/vocab.txt} (paths local on every
     * node; a word vocabulary is read once per JVM).
     */
    public static Tokenizer create(String spec) {
        if (spec.equals("bytes")) return new ByteTokenizer();
        if (spec.equals("gpt2")) return new Gpt2Tokenizer();
        if (spec.startsWith("hf:")) {
            try {
                Path p = Path.of(spec.substring(3));
                if (java.nio.file.Files.isDirectory(p)) p = inDirectory(p);
                return new HuggingFaceTokenizer(p, null);
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

    /** A Hugging Face directory's tokenizer: tokenizer.json, or one built from vocab.json + merges.txt (GPT-2's own files). */
    static Path inDirectory(Path dir) throws IOException {
        Path json = dir.resolve("tokenizer.json");
        if (java.nio.file.Files.isRegularFile(json)) return json;
        Path vocab = dir.resolve("vocab.json"), merges = dir.resolve("merges.txt");
        if (!java.nio.file.Files.isRegularFile(vocab) || !java.nio.file.Files.isRegularFile(merges))
            throw new IOException(dir + " has neither tokenizer.json nor vocab.json + merges.txt");
        Path out = java.nio.file.Files.createTempFile("tokenizer-", ".json");
        out.toFile().deleteOnExit();
        return BpeFiles.toTokenizerJson(vocab, merges, out);
    }
}
