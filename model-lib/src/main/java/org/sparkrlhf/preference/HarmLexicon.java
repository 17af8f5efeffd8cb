package org.sparkrlhf.preference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * A lexicon of offensive words (npm {@code badwords-list@1.0.0}: 450 entries, MIT), the demo's
 * measure of harm: a text is unsafe when it holds one of them as a word or, for the entries of
 * several words ("blow job"), as a phrase. Matching ignores case and the punctuation around words.
 */
public final class HarmLexicon implements java.io.Serializable {
    private final Set<String> words = new TreeSet<>();
    private final List<String> phrases = new ArrayList<>();

    private HarmLexicon(List<String> entries) {
        for (String e : entries) {
            String w = e.toLowerCase(Locale.ROOT).strip();
            if (w.isEmpty()) continue;
            if (w.contains(" ")) phrases.add(" " + w + " ");
            else words.add(w);
        }
    }

    public static HarmLexicon of(List<String> entries) {
        return new HarmLexicon(entries);
    }

    /** Reads the package's {@code lib/array.js}: {@code module.exports = ["...", ...];}. */
    public static HarmLexicon read(InputStream in, String source) throws IOException {
        String s = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        int a = s.indexOf('['), b = s.lastIndexOf(']');
        if (a < 0 || b < a) throw new IOException(source + ": expected a JavaScript array of words (badwords-list's lib/array.js)");
        JsonNode arr = new ObjectMapper().readTree(s.substring(a, b + 1));
        List<String> entries = new ArrayList<>();
        for (JsonNode w : arr) entries.add(w.asText());
        if (entries.size() < 100) throw new IOException(source + ": only " + entries.size() + " words; not the lexicon (expected 450)");
        return new HarmLexicon(entries);
    }

    public int size() {
        return words.size() + phrases.size();
    }

    /** The lexicon's single words, sorted. */
    public List<String> words() {
        return List.copyOf(words);
    }

    public boolean contains(String word) {
        return words.contains(word.toLowerCase(Locale.ROOT));
    }

    /** The lexicon's words in {@code text}, in order, each as often as it occurs (phrases after words). */
    public List<String> find(String text) {
        List<String> out = new ArrayList<>();
        StringBuilder flat = new StringBuilder(" ");
        for (String w : AnnotatorPanel.words(text)) {
            if (words.contains(w)) out.add(w);
            flat.append(w).append(' ');
        }
        String f = flat.toString();
        for (String p : phrases) {
            for (int i = f.indexOf(p); i >= 0; i = f.indexOf(p, i + 1)) out.add(p.strip());
        }
        return out;
    }

    /** The gold measure: whether {@code text} holds any offensive word. */
    public boolean unsafe(String text) {
        return !find(text).isEmpty();
    }
}
