package org.sparkrlhf.demo;

import org.sparkrlhf.data.ChatTemplate;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntPredicate;
import org.sparkrlhf.preference.Panel;
import org.sparkrlhf.preference.GoldEvaluation;
import org.sparkrlhf.rl.Moments;
import org.sparkrlhf.tokenizer.Tokenizer;

/** Sampled responses to held-out prompts with their proxy (reward model), gold (panel) and KL scores. */
final class ScoredSet {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<PolicyEvaluation.Scored> items;
    private final String[] texts;
    private final double[] gold;
    private final int perPrompt;

    private ScoredSet(List<PolicyEvaluation.Scored> items, String[] texts, double[] gold, int perPrompt) {
        this.items = items;
        this.texts = texts;
        this.gold = gold;
        this.perPrompt = perPrompt;
    }

    /** @param items in (prompt, sample) order, the same number of samples for every prompt */
    static ScoredSet of(List<PolicyEvaluation.Scored> items, Tokenizer tok, Panel panel) {
        String[] texts = new String[items.size()];
        double[] gold = new double[items.size()];
        for (int i = 0; i < texts.length; i++) {
            texts[i] = ChatTemplate.responseText(tok, items.get(i).response());
            gold[i] = panel.gold(texts[i]);
        }
        int perPrompt = 0;
        while (perPrompt < items.size() && items.get(perPrompt).prompt() == items.get(0).prompt()) perPrompt++;
        return new ScoredSet(items, texts, gold, perPrompt);
    }

    double goldMean() {
        return mean(gold);
    }

    double goldStd() {
        return Moments.of(gold).sampleStd();
    }

    /** A gold gain in the SFT model's standard deviations, and its standard error over the prompts. */
    record Gain(double sd, double standardError) {}

    /**
     * This set's gold gain over {@code sft}'s on the prompts {@code which} picks (by index), in
     * {@code sft}'s standard deviation over all its responses so that gains on parts of the prompts
     * add up, weighted by their share of the prompts, to the whole. The two sets are paired by prompt
     * (both answer the same held-out prompts): the gain is the mean of the prompts' gains, and its
     * error is theirs ({@link GoldEvaluation#pairedStandardError}), NaN with fewer than two prompts.
     * Both are NaN where every SFT response scores the same.
     */
    Gain goldGain(ScoredSet sft, IntPredicate which) {
        Map<Integer, double[]> mine = goldByPrompt(), theirs = sft.goldByPrompt();
        List<double[]> pairs = new ArrayList<>();
        for (var e : mine.entrySet()) {
            double[] other = theirs.get(e.getKey());
            if (other != null && which.test(e.getKey())) pairs.add(new double[]{e.getValue()[0] / e.getValue()[1], other[0] / other[1]});
        }
        double[] a = pairs.stream().mapToDouble(v -> v[0]).toArray(), b = pairs.stream().mapToDouble(v -> v[1]).toArray();
        double std = sft.goldStd();
        if (!(std > 0) || a.length == 0) return new Gain(Double.NaN, Double.NaN);
        return new Gain((mean(a) - mean(b)) / std, GoldEvaluation.pairedStandardError(a, b) / std);
    }

    /** Each prompt's gold sum and sample count, by the prompt's index. */
    private Map<Integer, double[]> goldByPrompt() {
        Map<Integer, double[]> out = new TreeMap<>();
        for (int i = 0; i < items.size(); i++) {
            double[] v = out.computeIfAbsent(items.get(i).prompt(), p -> new double[2]);
            v[0] += gold[i];
            v[1]++;
        }
        return out;
    }

    double proxyMean() {
        return mean(items.stream().mapToDouble(PolicyEvaluation.Scored::proxy).toArray());
    }

    double klMean() {
        return mean(items.stream().mapToDouble(PolicyEvaluation.Scored::kl).toArray());
    }

    double responseLength() {
        return mean(items.stream().mapToDouble(s -> s.response().length).toArray());
    }

    /**
     * Distinct-2 (Li et al., 2016): distinct word bigrams over all bigrams of the responses, from the
     * first {@code perPromptLimit} samples of each prompt (the count changes the figure, so sets are
     * compared at the same size).
     */
    double distinct2(int perPromptLimit) {
        java.util.Set<String> distinct = new java.util.HashSet<>();
        long total = 0;
        for (int i = 0; i < items.size(); i++) {
            if (items.get(i).sample() >= perPromptLimit) continue;
            String[] w = texts[i].trim().split("\\s+");
            for (int k = 0; k + 1 < w.length; k++) {
                distinct.add(w[k] + " " + w[k + 1]);
                total++;
            }
        }
        return total == 0 ? Double.NaN : (double) distinct.size() / total;
    }

    /** Mean gold reward of best-of-n by the proxy, over the first n samples of each prompt. */
    double bestOfNGold(int n) {
        return GoldEvaluation.bestOfNGold(perPrompt(true), perPrompt(false), n);
    }

    /** Mean proxy score of best-of-n (the proxy's own view of the same choice). */
    double bestOfNProxy(int n) {
        List<double[]> proxy = perPrompt(true);
        return GoldEvaluation.bestOfNGold(proxy, proxy, n);
    }

    private List<double[]> perPrompt(boolean proxy) {
        List<double[]> out = new ArrayList<>();
        for (int from = 0; from < items.size(); from += perPrompt) {
            double[] v = new double[perPrompt];
            for (int k = 0; k < perPrompt; k++) v[k] = proxy ? items.get(from + k).proxy() : gold[from + k];
            out.add(v);
        }
        return out;
    }

    /** Adds {@code {stage, prompt, response, gold, proxy, kl}} records for the first {@code perPromptKept} samples of each prompt. */
    void appendRecords(List<String> lines, String stage, List<String> prompts, int perPromptKept) throws com.fasterxml.jackson.core.JsonProcessingException {
        for (int i = 0; i < items.size(); i++) {
            PolicyEvaluation.Scored s = items.get(i);
            if (s.sample() >= perPromptKept) continue;
            ObjectNode o = JSON.createObjectNode();
            o.put("stage", stage);
            o.put("prompt", prompts.get(s.prompt()));
            o.put("response", texts[i]);
            o.put("gold", gold[i]);
            o.put("proxy", s.proxy());
            o.put("kl", s.kl());
            lines.add(JSON.writeValueAsString(o));
        }
    }

    /** The text and scores of the response at a position, for printing. */
    String text(int i) {
        return texts[i];
    }

    /** The index of the prompt that sample {@code i} answers. */
    int promptOf(int i) {
        return items.get(i).prompt();
    }

    double gold(int i) {
        return gold[i];
    }

    int size() {
        return items.size();
    }

    int perPrompt() {
        return perPrompt;
    }

    private static double mean(double[] v) {
        double s = 0;
        for (double x : v) s += x;
        return v.length == 0 ? Double.NaN : s / v.length;
    }
}
