package org.sparkrlhf.tokenizer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A word-level vocabulary learnt from a corpus, with bytes as the fallback, so it is lossless on
 * any text: ids 0..255 are bytes, then {@code <|endoftext|>} (EOS and padding) and the chat
 * template's role markers, then the corpus's most frequent pieces. A piece is a word, a number or
 * a run of punctuation, with the space before it (" good", " 1961", "."), as GPT-2 splits text;
 * a piece outside the vocabulary is spelled in bytes. Small models learn far more per token this
 * way than on bytes, and whole words are what preference judgements are about.
 */
public final class WordTokenizer implements Tokenizer {
    public static final List<String> SPECIALS = List.of(ByteTokenizer.END_OF_TEXT, "<|system|>", "<|user|>", "<|assistant|>");
    private static final Pattern PIECE = Pattern.compile(" ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s");
    private static final int FIRST_PIECE = 256 + SPECIALS.size();

    private final List<String> pieces;
    private final Map<String, Integer> ids = new HashMap<>();

    public WordTokenizer(List<String> pieces) {
        this.pieces = List.copyOf(pieces);
        for (int i = 0; i < pieces.size(); i++)
            if (ids.put(pieces.get(i), FIRST_PIECE + i) != null) throw new IllegalArgumentException("duplicate vocabulary piece '" + pieces.get(i) + "'");
    }

    /** Reads a vocabulary written by {@link #write}: one piece per line, UTF-8. */
    public static WordTokenizer read(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        if (lines.isEmpty()) throw new IOException(file + ": empty vocabulary");
        return new WordTokenizer(lines);
    }

    public void write(Path file) throws IOException {
        Files.write(file, pieces, StandardCharsets.UTF_8);
    }

    /** The {@code size} most frequent multi-byte pieces of the texts (ties in string order): deterministic for a corpus. */
    public static WordTokenizer learn(Iterable<String> texts, int size) {
        Map<String, Integer> counts = new HashMap<>();
        for (String t : texts) {
            Matcher m = PIECE.matcher(t);
            while (m.find()) {
                String p = m.group();
                if (p.isBlank() || p.getBytes(StandardCharsets.UTF_8).length < 2) continue; // bytes cover these
                counts.merge(p, 1, Integer::sum);
            }
        }
        List<String> top = counts.entrySet().stream()
                .sorted(Map.Entry.<String, Integer>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                .limit(size).map(Map.Entry::getKey).toList();
        return new WordTokenizer(top);
    }

    @Override
    public int[] encode(String text) {
        List<Integer> out = new ArrayList<>();
        int i = 0;
        while (i < text.length()) {
            int special = -1, at = text.length();
            for (int s = 0; s < SPECIALS.size(); s++) {
                int k = text.indexOf(SPECIALS.get(s), i);
                if (k >= 0 && k < at) {
                    at = k;
                    special = s;
                }
            }
            Matcher m = PIECE.matcher(text.substring(i, at));
            while (m.find()) {
                Integer id = ids.get(m.group());
                if (id != null) out.add(id);
                else for (byte b : m.group().getBytes(StandardCharsets.UTF_8)) out.add(b & 0xff);
            }
            if (special < 0) break;
            out.add(256 + special);
            i = at + SPECIALS.get(special).length();
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public String decode(int[] tokens) {
        StringBuilder out = new StringBuilder();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int id : tokens) {
            if (id < 0 || id >= vocabSize()) throw new IllegalArgumentException("id " + id + " is outside this tokenizer's range [0, " + vocabSize() + ")");
            if (id < 256) {
                bytes.write(id);
                continue;
            }
            out.append(bytes.toString(StandardCharsets.UTF_8));
            bytes.reset();
            out.append(id < FIRST_PIECE ? SPECIALS.get(id - 256) : pieces.get(id - FIRST_PIECE));
        }
        return out.append(bytes.toString(StandardCharsets.UTF_8)).toString();
    }

    @Override public int vocabSize() { return FIRST_PIECE + pieces.size(); }
    @Override public int eosToken() { return 256; }
    @Override public int padToken() { return 256; }
    @Override public String describe() { return "words(" + pieces.size() + " pieces)+bytes"; }
}
