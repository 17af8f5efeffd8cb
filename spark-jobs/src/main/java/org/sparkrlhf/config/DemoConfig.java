package org.sparkrlhf.config;

import java.util.ArrayList;
import java.util.List;

/**
 * The typed settings of the demo pipeline ({@code bin/rlhf demo}), with defaults in
 * {@code demo.yaml}. Each stage's job settings are {@code key=value} overrides of the job
 * defaults ({@code defaults.yaml}), so a stage is configured exactly as its job is.
 */
public record DemoConfig(Run run, Corpus corpus, Feedback feedback, Evaluation evaluation, Rejection rejection, Stages stages) {

    /** The alignment methods the demo runs, in the order {@code --compare} runs them. */
    public static final List<String> METHODS = List.of("ppo", "grpo", "rloo", "dpo", "rejection");

    /**
     * @param out run directory (any Hadoop URI); empty: a new directory under runs/
     * @param data where bin/fetch-demo-data put the corpora
     * @param methods the alignment methods to run from the same SFT model, reward model and feedback (several: a comparison)
     * @param from an earlier demo run whose shared stages (pre-training, SFT, feedback, reward model) this one reuses; empty: run them
     */
    public record Run(String out, long seed, String data, List<String> methods, String from) {}

    /**
     * Rejection sampling (best-of-n fine-tuning): rounds of n samples per prompt at {@code temperature},
     * the reward model's best kept, SFT on it.
     */
    public record Rejection(int rounds, int samplesPerPrompt, int prompts, double temperature) {}

    /** @param vocabulary word pieces of the tokenizer learnt from the pre-training text (0: a byte tokenizer) */
    public record Corpus(int promptWords, int responseWords, boolean fortunes, int vocabulary) {}

    /**
     * @param prompts rankings collected for reward-model training
     * @param evalPrompts rankings held out to evaluate the reward model (and measure the noise ceiling)
     * @param annotatorNoise Bradley-Terry temperature of the simulated annotators
     */
    public record Feedback(int prompts, int evalPrompts, int responsesPerPrompt, double temperature, double annotatorNoise) {}

    /** @param prompts held-out prompts for gold evaluation; @param bestOfN the n of the best-of-n baseline; @param ppoSamplesPerPrompt samples per prompt of the final policy */
    public record Evaluation(int prompts, List<Integer> bestOfN, int ppoSamplesPerPrompt) {
        public int maxN() {
            return bestOfN.stream().mapToInt(Integer::intValue).max().orElse(1);
        }
    }

    /**
     * Job-config overrides per stage; {@code all} applies to every stage first. GRPO and RLOO lay
     * theirs over PPO's (the same job); rejection sampling's are the SFT job's for each round.
     */
    public record Stages(List<String> all, List<String> pretrain, List<String> sft, List<String> reward, List<String> ppo, List<String> grpo,
                         List<String> rloo, List<String> dpo, List<String> rejection) {}

    /** Throws one error listing every invalid value by its key. */
    public DemoConfig validate() {
        List<String> e = new ArrayList<>();
        if (corpus.promptWords() < 1) e.add("corpus.promptWords must be >= 1, got " + corpus.promptWords());
        if (corpus.responseWords() < 1) e.add("corpus.responseWords must be >= 1, got " + corpus.responseWords());
        if (corpus.vocabulary() < 0) e.add("corpus.vocabulary must be >= 0 (0: bytes), got " + corpus.vocabulary());
        if (feedback.prompts() < 1) e.add("feedback.prompts must be >= 1, got " + feedback.prompts());
        if (feedback.evalPrompts() < 1) e.add("feedback.evalPrompts must be >= 1, got " + feedback.evalPrompts());
        if (feedback.responsesPerPrompt() < 2) e.add("feedback.responsesPerPrompt must be >= 2 (a ranking), got " + feedback.responsesPerPrompt());
        if (!(feedback.temperature() > 0)) e.add("feedback.temperature must be > 0, got " + feedback.temperature());
        if (!(feedback.annotatorNoise() > 0)) e.add("feedback.annotatorNoise must be > 0, got " + feedback.annotatorNoise());
        if (evaluation.prompts() < 1) e.add("evaluation.prompts must be >= 1, got " + evaluation.prompts());
        if (evaluation.bestOfN().isEmpty() || evaluation.bestOfN().stream().anyMatch(n -> n == null || n < 1))
            e.add("evaluation.bestOfN must list positive sample counts, got " + evaluation.bestOfN());
        if (evaluation.ppoSamplesPerPrompt() < 1) e.add("evaluation.ppoSamplesPerPrompt must be >= 1, got " + evaluation.ppoSamplesPerPrompt());
        if (run.methods().isEmpty() || !METHODS.containsAll(run.methods()) || run.methods().stream().distinct().count() != run.methods().size())
            e.add("run.methods must list distinct methods among " + METHODS + ", got " + run.methods());
        if (rejection.rounds() < 1) e.add("rejection.rounds must be >= 1, got " + rejection.rounds());
        if (rejection.samplesPerPrompt() < 2) e.add("rejection.samplesPerPrompt must be >= 2 (a best of n), got " + rejection.samplesPerPrompt());
        if (rejection.prompts() < 1) e.add("rejection.prompts must be >= 1, got " + rejection.prompts());
        if (!(rejection.temperature() > 0)) e.add("rejection.temperature must be > 0, got " + rejection.temperature());
        if (!e.isEmpty()) throw new ConfigException("invalid demo config: " + String.join("; ", e));
        return this;
    }
}
