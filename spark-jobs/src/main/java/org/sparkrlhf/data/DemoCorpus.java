package org.sparkrlhf.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Turns the demo's real corpora into training records: the Brown Corpus (word/TAG text, tags
 * stripped) and the fortunes databases ({@code %}-separated entries) as plain text; sentences held
 * apart by a stable hash become SFT prompt/continuation pairs and PPO prompts.
 */
public final class DemoCorpus {
    private DemoCorpus() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Plain sentences of the given Brown files (all of them when none is named), tags removed. */
    public static List<String> brownSentences(Path dir, String... files) throws IOException {
        List<Path> paths = new ArrayList<>();
        if (files.length > 0) {
            for (String f : files) paths.add(dir.resolve(f));
        } else {
            try (Stream<Path> s = Files.list(dir)) {
                s.filter(p -> p.getFileName().toString().matches("c[a-r]\\d\\d")).sorted().forEach(paths::add);
            }
        }
        if (paths.isEmpty()) throw new IOException("no Brown Corpus files in " + dir + " (run bin/fetch-demo-data)");
        List<String> out = new ArrayList<>();
        for (Path p : paths)
            for (String line : Files.readAllLines(p, StandardCharsets.UTF_8)) {
                if (line.isBlank()) continue;
                StringBuilder s = new StringBuilder();
                for (String tok : line.trim().split("\\s+")) {
                    int slash = tok.lastIndexOf('/');
                    String word = slash > 0 ? tok.substring(0, slash) : tok;
                    if (word.equals("``") || word.equals("''")) word = "\"";
                    if (s.length() > 0 && !word.matches("[.,;:?!']+")) s.append(' ');
                    s.append(word);
                }
                out.add(s.toString());
            }
        return out;
    }

    /** Entries of every fortunes database under {@code dir} (files without an extension), in name order. */
    public static List<String> fortunes(Path dir) throws IOException {
        List<Path> dbs;
        try (Stream<Path> s = Files.list(dir)) {
            dbs = s.filter(p -> Files.isRegularFile(p) && !p.getFileName().toString().contains(".")).sorted().toList();
        }
        List<String> out = new ArrayList<>();
        for (Path db : dbs)
            for (String entry : Files.readString(db, StandardCharsets.UTF_8).split("\n%\n")) {
                String e = entry.replace("\n%", "").strip();
                if (!e.isEmpty() && !e.equals("%")) out.add(e);
            }
        return out;
    }

    /** Which use a sentence goes to, fixed by its text: 0-7 pre-training, 8 SFT, 9 PPO prompts. */
    static int bucket(String sentence) {
        return Math.floorMod(sentence.hashCode() * 0x9E3779B9, 10);
    }

    /** Counts of what {@link #write} produced. */
    public record Counts(long text, long sft, long prompts) {}

    /** The corpus by use: pre-training texts, SFT prompt/response pairs, PPO prompts. */
    public record Split(List<String> text, List<Map<String, String>> sft, List<String> prompts) {}

    /**
     * Splits sentences by {@link #bucket}: pre-training text (with {@code extraText}), SFT pairs
     * (the first {@code promptWords} words of a held-apart sentence as the prompt, up to
     * {@code responseWords} more as the response) and PPO prompts from other held-apart sentences.
     */
    public static Split split(List<String> sentences, List<String> extraText, int promptWords, int responseWords) {
        List<String> text = new ArrayList<>(), prompts = new ArrayList<>();
        List<Map<String, String>> sft = new ArrayList<>();
        for (String s : sentences) {
            String[] w = s.split(" ");
            int b = bucket(s);
            if (b < 8 || w.length < promptWords + 2) {
                text.add(s);
            } else if (b == 8) {
                String prompt = String.join(" ", List.of(w).subList(0, promptWords));
                String response = String.join(" ", List.of(w).subList(promptWords, Math.min(w.length, promptWords + responseWords)));
                Map<String, String> record = new java.util.LinkedHashMap<>(); // one key order, so equal data is equal bytes
                record.put("prompt", prompt);
                record.put("response", response);
                sft.add(record);
            } else {
                prompts.add(String.join(" ", List.of(w).subList(0, promptWords)));
            }
        }
        text.addAll(extraText);
        return new Split(text, sft, prompts);
    }

    /** Writes {@code text.jsonl}, {@code sft.jsonl} and {@code prompts.jsonl} of a split. */
    public static Counts write(Split split, Path outDir) throws IOException {
        Files.createDirectories(outDir);
        List<String> text = new ArrayList<>(), sft = new ArrayList<>(), prompts = new ArrayList<>();
        for (String t : split.text()) text.add(JSON.writeValueAsString(Map.of("text", t)));
        for (Map<String, String> pair : split.sft()) sft.add(JSON.writeValueAsString(pair));
        for (String p : split.prompts()) prompts.add(JSON.writeValueAsString(Map.of("prompt", p)));
        Files.write(outDir.resolve("text.jsonl"), text, StandardCharsets.UTF_8);
        Files.write(outDir.resolve("sft.jsonl"), sft, StandardCharsets.UTF_8);
        Files.write(outDir.resolve("prompts.jsonl"), prompts, StandardCharsets.UTF_8);
        return new Counts(text.size(), sft.size(), prompts.size());
    }
}
