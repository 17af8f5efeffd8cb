package org.sparkrlhf.config;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The typed configuration of a training job, with defaults in {@code defaults.yaml}. Loaded by
 * {@link ConfigLoader}; every value is validated here, and errors name the key.
 */
public record JobConfig(Run run, Model model, Data data, Train train, Reward reward, Ppo ppo, Dpo dpo) implements Serializable {

    public record Run(String dir, long seed, boolean resume, boolean recurring, int leaseSeconds, int leaseWaitSeconds) implements Serializable {}

    /** LoRA adapters: rank 0 trains every parameter. */
    public record LoraSettings(int rank, double alpha, double dropout, List<String> targets) implements Serializable {}

    public record Model(String tokenizer, int contextLength, int dModel, int nHeads, int nLayers, String init, String device,
                        LoraSettings lora) implements Serializable {
        /** Whether ranks compute on their GPU. */
        public boolean cuda() {
            return "cuda".equals(device);
        }
    }

    public record Data(String train, String eval, double evalFraction, String format, double maxBadFraction, int maxChars) implements Serializable {}

    public record Train(int steps, int globalBatch, int microBatch, int partitions, double lr, double minLr, int warmupSteps,
                        String schedule, double weightDecay, double maxGradNorm, int maxBadSteps, int collectiveTimeoutSeconds, int stageRetries, String collective, int checkpointEvery,
                        int keepLast, int logEvery) implements Serializable {}

    /** Reward-model training: the weight of the safety labels' sign term (Safe RLHF's cost model), for records that carry them. */
    public record Reward(double safetyLabelWeight) implements Serializable {}

    public record Ppo(String prompts, String policyInit, String reward, String criticInit, String advantage, int groupSize, int iterations,
                      int promptsPerIteration, int maxNewTokens, double temperature, int topK, double topP, int epochs, int minibatches, double maxUpdateKl, double clip,
                      double valueClip, double gamma, double lambda, double entropyCoef, String klMode, double klBeta, double klTarget,
                      double klHorizon, double klBetaMin, double klRaiseHorizon, String klEstimator, double scoreClip, double missingEosPenalty, double policyLr,
                      double criticLr, double ptxCoef, String ptxData, int ptxPerMinibatch, String safety, String harmlessness, double costLimit,
                      double lambdaInit, double lambdaLr, double lambdaMax, double lambdaKp, Double harmfulCostLimit, Long seed) implements Serializable {
        /** The KL penalty's controller as these settings make it (its constructor checks them). */
        public org.sparkrlhf.rl.KlController klController() {
            return klMode.equals("adaptive") ? org.sparkrlhf.rl.KlController.adaptive(klBeta, klTarget, klHorizon, klBetaMin,
                    klRaiseHorizon > 0 ? klRaiseHorizon : klHorizon)
                    : org.sparkrlhf.rl.KlController.fixed(klBeta);
        }

        /** The safety constraint's settings, or null for ppo.safety: none. */
        public org.sparkrlhf.rl.SafetyConstraint.Settings safetySettings() {
            if (safety.equals("none")) return null;
            return new org.sparkrlhf.rl.SafetyConstraint.Settings(org.sparkrlhf.rl.SafetyConstraint.Mode.valueOf(safety.toUpperCase(java.util.Locale.ROOT)),
                    costLimit, lambdaInit, lambdaLr, lambdaMax, lambdaKp, harmfulCostLimit == null ? Double.NaN : harmfulCostLimit);
        }
    }

    /**
     * Direct preference optimization: beta, the loss (sigmoid = DPO, ipo), conservative DPO's label
     * smoothing, and the KL to the reference measured at each checkpoint from {@code klSamples}
     * samples of the held-out prompts (0: not measured), {@code klMaxNewTokens} tokens at most.
     */
    public record Dpo(double beta, String loss, double labelSmoothing, int klSamples, int klMaxNewTokens) implements Serializable {
        public org.sparkrlhf.preference.DpoLoss.Settings settings() {
            return new org.sparkrlhf.preference.DpoLoss.Settings(beta, loss.equals("ipo") ? org.sparkrlhf.preference.DpoLoss.Kind.IPO
                    : org.sparkrlhf.preference.DpoLoss.Kind.SIGMOID, labelSmoothing);
        }
    }

    /** The seed of PPO's rollouts and of its prompt, minibatch and ptx order: ppo.seed, or run.seed when unset. */
    public long ppoSeed() {
        return ppo.seed() == null ? run.seed() : ppo.seed();
    }

    /** ppo.advantage as the trainer's method. */
    public org.sparkrlhf.rl.Advantage advantage() {
        return org.sparkrlhf.rl.Advantage.valueOf(ppo.advantage().toUpperCase(java.util.Locale.ROOT));
    }

    /** Samples per prompt: ppo.groupSize for the group methods, one for GAE. */
    public int samplesPerPrompt() {
        return advantage().needsCritic() ? 1 : ppo.groupSize();
    }

    /** Checks the DPO section (only the DPO job needs it). */
    public JobConfig validateDpo() {
        List<String> e = new ArrayList<>();
        if (!Set.of("sigmoid", "ipo").contains(dpo.loss())) e.add("dpo.loss must be sigmoid or ipo, got '" + dpo.loss() + "'");
        else try {
            dpo.settings();
        } catch (IllegalArgumentException x) {
            e.add(x.getMessage());
        }
        if (dpo.klSamples() < 0) e.add("dpo.klSamples must be >= 0 (0: KL not measured), got " + dpo.klSamples());
        if (dpo.klMaxNewTokens() < 1) e.add("dpo.klMaxNewTokens must be >= 1, got " + dpo.klMaxNewTokens());
        if (model.cuda()) e.add("model.device: cuda runs pre-training and SFT so far; run DPO with model.device: cpu");
        if (!e.isEmpty()) throw new ConfigException("invalid config: " + String.join("; ", e));
        return this;
    }

    /** The GPT these settings describe, with the tokenizer's vocabulary and the given heads. */
    public org.sparkrlhf.model.GptConfig gptConfig(org.sparkrlhf.model.Head... heads) {
        int vocab = org.sparkrlhf.tokenizer.Tokenizers.create(model.tokenizer()).vocabSize();
        org.sparkrlhf.model.GptConfig c = org.sparkrlhf.model.GptConfig.of(vocab, model.contextLength(), model.dModel(), model.nHeads(), model.nLayers());
        if (model.lora().rank() > 0) c = c.withLora(lora());
        return heads.length == 0 ? c : c.withHeads(heads);
    }

    /** model.lora as the model's adapters (rank > 0 only). */
    public org.sparkrlhf.model.Lora lora() {
        LoraSettings l = model.lora();
        return new org.sparkrlhf.model.Lora(l.rank(), l.alpha(), l.dropout(), Set.copyOf(l.targets()));
    }

    /** The run directory and its file system (any Hadoop URI). */
    public org.apache.hadoop.fs.FileSystem runFileSystem(org.apache.hadoop.conf.Configuration hadoop) throws java.io.IOException {
        return new org.apache.hadoop.fs.Path(run.dir()).getFileSystem(hadoop);
    }

    /** Checks the PPO section (only the PPO job needs it). */
    public JobConfig validatePpo() {
        List<String> e = new ArrayList<>();
        if (ppo.prompts().isBlank()) e.add("ppo.prompts must name the prompt records");
        if (model.cuda()) e.add("model.device: cuda runs pre-training and SFT so far; run PPO with model.device: cpu");
        if (run.recurring()) e.add("run.recurring trains rounds on new data.train files (pretrain, sft, reward); a PPO run continues with run.resume=true");
        if (ppo.reward().isBlank()) e.add("ppo.reward must name a reward-model checkpoint directory or token-frequency:ID");
        if (ppo.reward().startsWith("token-frequency:") && !ppo.reward().substring("token-frequency:".length()).matches("\\d+"))
            e.add("ppo.reward=token-frequency:ID needs a token id, got '" + ppo.reward().substring("token-frequency:".length()) + "'");
        if (!Set.of("reward", "policy").contains(ppo.criticInit())) e.add("ppo.criticInit must be reward or policy, got '" + ppo.criticInit() + "'");
        if (!Set.of("gae", "grpo", "rloo").contains(ppo.advantage()))
            e.add("ppo.advantage must be gae (PPO with a critic), grpo or rloo (critic-free), got '" + ppo.advantage() + "'");
        else if (!ppo.advantage().equals("gae") && ppo.groupSize() < 2)
            e.add("ppo.groupSize must be >= 2 for ppo.advantage=" + ppo.advantage() + " (a baseline needs other samples of the same prompt), got "
                    + ppo.groupSize());
        positive(e, "ppo.iterations", ppo.iterations());
        positive(e, "ppo.promptsPerIteration", ppo.promptsPerIteration());
        positive(e, "ppo.maxNewTokens", ppo.maxNewTokens());
        positive(e, "ppo.epochs", ppo.epochs());
        positive(e, "ppo.minibatches", ppo.minibatches());
        if (!(ppo.maxUpdateKl() >= 0) || Double.isInfinite(ppo.maxUpdateKl()))
            e.add("ppo.maxUpdateKl must be >= 0 and finite (0: every update runs), got " + ppo.maxUpdateKl());
        if (ppo.promptsPerIteration() % (train.partitions() * Math.max(1, ppo.minibatches())) != 0)
            e.add("ppo.promptsPerIteration (" + ppo.promptsPerIteration() + ") must be a multiple of train.partitions x ppo.minibatches ("
                    + train.partitions() * ppo.minibatches() + ")");
        if (!Set.of("fixed", "adaptive").contains(ppo.klMode())) e.add("ppo.klMode must be fixed or adaptive, got '" + ppo.klMode() + "'");
        else
            try {
                ppo.klController();
                if (!(ppo.klRaiseHorizon() >= 0)) e.add("ppo.klRaiseHorizon must be >= 0 (0: ppo.klHorizon), got " + ppo.klRaiseHorizon());
            } catch (IllegalArgumentException x) {
                e.add(x.getMessage());
            }
        if (!Set.of("k1", "k2", "k3").contains(ppo.klEstimator())) e.add("ppo.klEstimator must be k1, k2 or k3, got '" + ppo.klEstimator() + "'");
        if (!(ppo.temperature() >= 0)) e.add("ppo.temperature must be >= 0, got " + ppo.temperature());
        if (!(ppo.policyLr() > 0) || !(ppo.criticLr() > 0)) e.add("ppo.policyLr and ppo.criticLr must be > 0");
        if (!(ppo.ptxCoef() >= 0)) e.add("ppo.ptxCoef must be >= 0, got " + ppo.ptxCoef());
        if (ppo.ptxCoef() > 0 && ppo.ptxData().isBlank()) e.add("ppo.ptxCoef > 0 needs ppo.ptxData (pre-training text records)");
        if (ppo.ptxCoef() > 0 && ppo.ptxPerMinibatch() % train.partitions() != 0)
            e.add("ppo.ptxPerMinibatch (" + ppo.ptxPerMinibatch() + ") must be a multiple of train.partitions (" + train.partitions() + ")");
        if (!Set.of("none", "lagrangian", "weighted").contains(ppo.safety()))
            e.add("ppo.safety must be none, lagrangian (a cost limit held by an adapted lambda) or weighted (a fixed lambda), got '" + ppo.safety() + "'");
        else if (ppo.safety().equals("none") && ppo.harmfulCostLimit() != null)
            e.add("ppo.harmfulCostLimit needs ppo.safety=lagrangian, got ppo.safety=none");
        else if (!ppo.safety().equals("none")) {
            if (ppo.harmlessness().isBlank()) e.add("ppo.safety=" + ppo.safety() + " needs ppo.harmlessness: the harmlessness reward model (or token-frequency:ID)");
            if (ppo.harmlessness().startsWith("token-frequency:") && !ppo.harmlessness().substring("token-frequency:".length()).matches("\\d+"))
                e.add("ppo.harmlessness=token-frequency:ID needs a token id");
            try {
                ppo.safetySettings();
            } catch (IllegalArgumentException x) {
                e.add(x.getMessage());
            }
        }
        if (!e.isEmpty()) throw new ConfigException("invalid config: " + String.join("; ", e));
        return this;
    }

    /** Throws one error listing every invalid value by its key. */
    public JobConfig validate() {
        List<String> e = new ArrayList<>();
        if (run.dir() == null || run.dir().isBlank()) e.add("run.dir must name a directory");
        positive(e, "run.leaseSeconds", run.leaseSeconds());
        if (run.leaseWaitSeconds() < 0) e.add("run.leaseWaitSeconds must be >= 0, got " + run.leaseWaitSeconds());
        if (!(model.tokenizer().equals("bytes") || model.tokenizer().equals("gpt2") || model.tokenizer().startsWith("hf:") || model.tokenizer().startsWith("words:")))
            e.add("model.tokenizer must be bytes, gpt2, hf:/path/to/tokenizer.json or words:/path/to/vocab.txt, got '" + model.tokenizer() + "'");
        if (model.lora().rank() < 0) e.add("model.lora.rank must be >= 0 (0: no adapters), got " + model.lora().rank());
        if (model.lora().rank() > 0) {
            try {
                lora();
            } catch (IllegalArgumentException x) {
                e.add(x.getMessage().replace("invalid LoRA settings: ", "").replace("lora.", "model.lora."));
            }
            if (model.cuda()) e.add("model.lora runs on the CPU backend so far; set model.device: cpu or model.lora.rank: 0");
        }
        if (!Set.of("cpu", "cuda").contains(model.device()))
            e.add("model.device must be cpu or cuda, got '" + model.device() + "'");
        positive(e, "model.contextLength", model.contextLength());
        positive(e, "model.dModel", model.dModel());
        positive(e, "model.nHeads", model.nHeads());
        positive(e, "model.nLayers", model.nLayers());
        if (model.nHeads() > 0 && model.dModel() % model.nHeads() != 0)
            e.add("model.dModel (" + model.dModel() + ") must be divisible by model.nHeads (" + model.nHeads() + ")");
        if (!ppo.prompts().isBlank()) {
            // a PPO job: its data is ppo.prompts, checked by validatePpo
        } else if (data.train() == null || data.train().isBlank()) e.add("data.train must name the training data (a file or directory)");
        if (!(data.evalFraction() >= 0 && data.evalFraction() < 1)) e.add("data.evalFraction must be in [0, 1), got " + data.evalFraction());
        if (!Set.of("jsonl", "parquet").contains(data.format())) e.add("data.format must be jsonl or parquet, got '" + data.format() + "'");
        if (!(data.maxBadFraction() >= 0 && data.maxBadFraction() < 1)) e.add("data.maxBadFraction must be in [0, 1), got " + data.maxBadFraction());
        positive(e, "data.maxChars", data.maxChars());
        positive(e, "train.steps", train.steps());
        positive(e, "train.globalBatch", train.globalBatch());
        positive(e, "train.microBatch", train.microBatch());
        positive(e, "train.partitions", train.partitions());
        if (train.partitions() > 0 && train.globalBatch() % train.partitions() != 0)
            e.add("train.globalBatch (" + train.globalBatch() + ") must be a multiple of train.partitions (" + train.partitions() + ")");
        if (!(train.lr() > 0)) e.add("train.lr must be > 0, got " + train.lr());
        if (!(train.minLr() >= 0 && train.minLr() <= train.lr())) e.add("train.minLr must be in [0, train.lr], got " + train.minLr());
        if (train.warmupSteps() < 0) e.add("train.warmupSteps must be >= 0, got " + train.warmupSteps());
        if (!Set.of("constant", "linear", "cosine").contains(train.schedule()))
            e.add("train.schedule must be constant, linear or cosine, got '" + train.schedule() + "'");
        if (!train.schedule().equals("constant") && train.steps() <= train.warmupSteps())
            e.add("train.steps (" + train.steps() + ") must exceed train.warmupSteps (" + train.warmupSteps() + ") for a decaying schedule");
        if (!(train.weightDecay() >= 0)) e.add("train.weightDecay must be >= 0, got " + train.weightDecay());
        if (!(train.maxGradNorm() > 0)) e.add("train.maxGradNorm must be > 0, got " + train.maxGradNorm());
        if (train.maxBadSteps() < 0) e.add("train.maxBadSteps must be >= 0, got " + train.maxBadSteps());
        positive(e, "train.collectiveTimeoutSeconds", train.collectiveTimeoutSeconds());
        if (train.stageRetries() < 0) e.add("train.stageRetries must be >= 0, got " + train.stageRetries());
        if (!Set.of("auto", "tcp").contains(train.collective())) e.add("train.collective must be auto or tcp, got '" + train.collective() + "'");
        positive(e, "train.checkpointEvery", train.checkpointEvery());
        positive(e, "train.keepLast", train.keepLast());
        positive(e, "train.logEvery", train.logEvery());
        if (!(reward.safetyLabelWeight() >= 0) || Double.isInfinite(reward.safetyLabelWeight()))
            e.add("reward.safetyLabelWeight must be >= 0 (0: safety labels ignored), got " + reward.safetyLabelWeight());
        if (!e.isEmpty()) throw new ConfigException("invalid config: " + String.join("; ", e));
        return this;
    }

    private static void positive(List<String> e, String key, long v) {
        if (v <= 0) e.add(key + " must be > 0, got " + v);
    }
}
