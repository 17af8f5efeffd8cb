package org.sparkrlhf.data;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.sparkrlhf.preference.HarmLexicon;
import org.sparkrlhf.preference.Refusals;
import org.sparkrlhf.preference.VaderLexicon;

/**
 * The demo's harmlessness task, made from the corpus and the offensive-word lexicon: a share of the
 * prompts carry an offensive word (a harmful prompt invites more of the same); on those, the SFT
 * demonstrations either go along (the continuation gets an offensive word too) or refuse, so the
 * SFT model both harms and refuses some of the time; and a share of the pre-training text carries
 * one, as text from the web does, so the model knows the words. A demonstration that goes along
 * opens with the prompt's offensive word and adds another, so going along is something a small
 * model learns (copying from its prompt), as it learns to refuse. Every choice is seeded by the
 * text and the run's seed, so the same settings give the same data.
 */
public final class HarmTask {
    private HarmTask() {}

    /**
     * @param promptShare  share of SFT, PPO and evaluation prompts made harmful
     * @param complyShare  share of the SFT demonstrations on harmful prompts that go along (the rest refuse)
     * @param textShare    share of the pre-training texts that get an offensive word
     * @param words        how many of the lexicon's words are used (the most offensive that VADER's raters rated)
     */
    public record Settings(double promptShare, double complyShare, double textShare, int words) implements java.io.Serializable {}

    /**
     * The offensive words the task uses: of the {@code candidates} in the lexicon that the clean
     * corpus never uses (so every harm in the data is the task's), the {@code n} the ten VADER raters
     * found most negative on average (their harm panel weighs them differently), most offensive first;
     * ties by word.
     */
    public static List<String> words(HarmLexicon lexicon, VaderLexicon vader, List<String> candidates, java.util.Set<String> corpusWords, int n) {
        List<String> rated = new ArrayList<>();
        for (String w : candidates)
            if (lexicon.contains(w) && !w.contains(" ") && !corpusWords.contains(w) && vader.meanRating(w) != null && vader.meanRating(w) <= -2.0) rated.add(w);
        rated = new ArrayList<>(new java.util.TreeSet<>(rated));
        rated.sort(Comparator.comparingDouble((String w) -> vader.meanRating(w)).thenComparing(w -> w));
        if (rated.size() < n) throw new DataException("the lexicons share only " + rated.size() + " strongly offensive words; lower safety.words (" + n + ")");
        return List.copyOf(rated.subList(0, n));
    }

    private static SplittableRandom rng(String text, long seed, int salt) {
        return new SplittableRandom(seed * 0x9E3779B97F4A7C15L ^ (long) text.hashCode() * 31 + salt);
    }

    /** {@code text} with {@code word} put after one of its words (never first, so a prompt's opening stays). */
    static String insert(String text, String word, SplittableRandom r) {
        String[] w = text.split(" ");
        int at = 1 + r.nextInt(Math.max(1, w.length));
        List<String> out = new ArrayList<>(List.of(w));
        out.add(Math.min(at, out.size()), word);
        return String.join(" ", out);
    }

    /** A prompt made harmful, or left as it is: fixed by the prompt's text and the seed. */
    public static String prompt(String prompt, List<String> words, Settings s, long seed) {
        SplittableRandom r = rng(prompt, seed, 1);
        if (r.nextDouble() >= s.promptShare()) return prompt;
        return insert(prompt, words.get(r.nextInt(words.size())), r);
    }

    /** The first of {@code words} in a harmful prompt. */
    static String offensiveWord(String prompt, List<String> words) {
        for (String w : prompt.split(" ")) if (words.contains(w)) return w;
        throw new IllegalArgumentException("no offensive word in '" + prompt + "'");
    }

    /** The corpus split with the harmlessness task laid over it (see the class comment). */
    public static DemoCorpus.Split apply(DemoCorpus.Split split, List<String> words, Settings s, long seed) {
        List<String> text = new ArrayList<>();
        for (String t : split.text()) {
            SplittableRandom r = rng(t, seed, 2);
            text.add(r.nextDouble() < s.textShare() ? insert(t, words.get(r.nextInt(words.size())), r) : t);
        }
        List<Map<String, String>> sft = new ArrayList<>();
        for (Map<String, String> pair : split.sft()) {
            String prompt = prompt(pair.get("prompt"), words, s, seed), response = pair.get("response");
            if (!prompt.equals(pair.get("prompt"))) { // going along echoes the prompt's word and adds another; or a refusal
                SplittableRandom r = rng(prompt, seed, 3);
                String echoed = offensiveWord(prompt, words);
                response = r.nextDouble() < s.complyShare() ? echoed + " " + insert(response, words.get(r.nextInt(words.size())), r)
                        : Refusals.TEMPLATES.get(r.nextInt(Refusals.TEMPLATES.size()));
            }
            Map<String, String> record = new LinkedHashMap<>();
            record.put("prompt", prompt);
            record.put("response", response);
            sft.add(record);
        }
        List<String> prompts = new ArrayList<>();
        for (String p : split.prompts()) prompts.add(prompt(p, words, s, seed));
        return new DemoCorpus.Split(text, sft, prompts);
    }
}
