package org.sparkrlhf.config;

import java.util.ArrayList;
import java.util.List;

/**
 * The typed settings of the demo pipeline ({@code bin/rlhf demo}), with defaults in
 * {@code demo.yaml}. Each stage's job settings are {@code key=value} overrides of the job
 * defaults ({@code defaults.yaml}), so a stage is configured exactly as its job is.
 */
public record DemoConfig(Run run, Corpus corpus, Feedback feedback, Evaluation evaluation, Rejection rejection, Safety safety, AiFeedback aiFeedback,
                         Stages stages) {

    /** The alignment methods the demo runs, in the order {@code --compare} runs them. */
    public static final List<String> METHODS = List.of("ppo", "grpo", "rloo", "dpo", "rejection");
    /** The harmlessness task's methods ({@code --safety}): PPO on helpfulness alone, Safe RLHF's Lagrangian, the weighted sum. */
    public static final List<String> SAFETY_METHODS = List.of("ppo", "safe", "weighted");

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

    /**
     * The harmlessness task ({@code bin/rlhf demo --safety}): a share of prompts carries an offensive
     * word; SFT demonstrations on them go along or refuse; helpfulness raters ignore offensive words
     * and price a refusal; a harm panel ranks by harmlessness for a second reward model.
     *
     * @param promptShare share of prompts made harmful; @param complyShare share of their SFT demonstrations that go along
     * @param textShare share of pre-training texts given an offensive word; @param words offensive words used
     * @param refusalUtility what a refusal is worth to the helpfulness raters; @param harmNoise the harm panel's noise temperature
     * @param sftSteps the SFT stage's steps with the task (0: the sft stage's own)
     */
    public record Safety(boolean enabled, double promptShare, double complyShare, double textShare, int words, double refusalUtility, double harmNoise,
                         int sftSteps) {}

    /**
     * The AI-feedback study ({@code bin/rlhf demo --ai-feedback}): people rank a share of the
     * feedback, a reward model trained on that share judges the rest; reward models trained on
     * the people's share, the judge's labels and both are measured against the panel.
     *
     * @param humanShare share of the feedback rankings people make; the judge labels the others
     */
    public record AiFeedback(boolean enabled, double humanShare) {}

    /** @param prompts held-out prompts for gold evaluation; @param bestOfN the n of the best-of-n baseline; @param ppoSamplesPerPrompt samples per prompt of the final policy */
    public record Evaluation(int prompts, List<Integer> bestOfN, int ppoSamplesPerPrompt) {
        public int maxN() {
            return bestOfN.stream().mapToInt(Integer::intValue).max().orElse(1);
        }
    }

    /**
     * Job-config overrides per stage; {@code all} applies to every stage first. GRPO and RLOO lay
     * theirs over PPO's (the same job); rejection sampling's are the SFT job's for each round. With
     * the harmlessness task, {@code safetyPpo} lies over PPO's for its three methods (ppo, safe,
     * weighted), and safe's and weighted's over that.
     */
    public record Stages(List<String> all, List<String> pretrain, List<String> sft, List<String> reward, List<String> ppo, List<String> grpo,
                         List<String> rloo, List<String> dpo, List<String> rejection, List<String> harmlessness, List<String> safetyPpo,
                         List<String> safe, List<String> weighted) {}

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
        List<String> known = new ArrayList<>(METHODS);
        known.addAll(SAFETY_METHODS.subList(1, SAFETY_METHODS.size()));
        if (run.methods().isEmpty() || !known.containsAll(run.methods()) || run.methods().stream().distinct().count() != run.methods().size())
            e.add("run.methods must list distinct methods among " + known + ", got " + run.methods());
        if (!safety.enabled() && (run.methods().contains("safe") || run.methods().contains("weighted")))
            e.add("run.methods safe and weighted need the harmlessness task: safety.enabled=true (bin/rlhf demo --safety)");
        if (safety.enabled()) {
            if (!(safety.promptShare() > 0 && safety.promptShare() < 1)) e.add("safety.promptShare must be in (0, 1), got " + safety.promptShare());
            if (!(safety.complyShare() >= 0 && safety.complyShare() <= 1)) e.add("safety.complyShare must be in [0, 1], got " + safety.complyShare());
            if (!(safety.textShare() >= 0 && safety.textShare() < 1)) e.add("safety.textShare must be in [0, 1), got " + safety.textShare());
            if (safety.words() < 1) e.add("safety.words must be >= 1, got " + safety.words());
            if (!(safety.harmNoise() > 0)) e.add("safety.harmNoise must be > 0, got " + safety.harmNoise());
            if (safety.sftSteps() < 0) e.add("safety.sftSteps must be >= 0 (0: the sft stage's own steps), got " + safety.sftSteps());
            if (corpus.vocabulary() > 0 && safety.textShare() == 0)
                e.add("safety.textShare must be > 0 with a learnt vocabulary (corpus.vocabulary > 0): the offensive words must be in the pre-training text");
        }
        if (aiFeedback.enabled() && !(aiFeedback.humanShare() > 0 && aiFeedback.humanShare() < 1))
            e.add("aiFeedback.humanShare must be in (0, 1): people rank some of the feedback and the judge the rest, got " + aiFeedback.humanShare());
        if (rejection.rounds() < 1) e.add("rejection.rounds must be >= 1, got " + rejection.rounds());
        if (rejection.samplesPerPrompt() < 2) e.add("rejection.samplesPerPrompt must be >= 2 (a best of n), got " + rejection.samplesPerPrompt());
        if (rejection.prompts() < 1) e.add("rejection.prompts must be >= 1, got " + rejection.prompts());
        if (!(rejection.temperature() > 0)) e.add("rejection.temperature must be > 0, got " + rejection.temperature());
        if (!e.isEmpty()) throw new ConfigException("invalid demo config: " + String.join("; ", e));
        return this;
    }
}
