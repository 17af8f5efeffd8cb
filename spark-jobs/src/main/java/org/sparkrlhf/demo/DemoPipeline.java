package org.sparkrlhf.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.sparkrlhf.checkpoint.CheckpointStore;
import org.sparkrlhf.config.ConfigException;
import org.sparkrlhf.config.ConfigLoader;
import org.sparkrlhf.config.DemoConfig;
import org.sparkrlhf.config.JobConfig;
import org.sparkrlhf.data.ChatTemplate;
import org.sparkrlhf.data.DataException;
import org.sparkrlhf.data.DemoCorpus;
import org.sparkrlhf.data.JsonLines;
import org.sparkrlhf.jobs.LabelCommand;
import org.sparkrlhf.jobs.ModelFiles;
import org.sparkrlhf.jobs.PretrainJob;
import org.sparkrlhf.jobs.RewardJob;
import org.sparkrlhf.jobs.SftJob;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.data.HarmTask;
import org.sparkrlhf.preference.AnnotatorPanel;
import org.sparkrlhf.preference.HarmLexicon;
import org.sparkrlhf.preference.HarmPanel;
import org.sparkrlhf.preference.Panel;
import org.sparkrlhf.preference.VaderLexicon;
import org.sparkrlhf.sampling.SamplingConfig;
import org.sparkrlhf.tokenizer.Tokenizer;
import org.sparkrlhf.tokenizer.Tokenizers;
import org.sparkrlhf.tokenizer.WordTokenizer;

/**
 * The whole recipe on embedded defaults (Ziegler et al. 2019's "continue pleasantly" task, with
 * Gao et al. 2022's gold-reward evaluation): pre-train on real text, fine-tune on continuations,
 * collect rankings from a panel of simulated annotators built from real raters, train a reward
 * model, align with PPO against it (or GRPO, RLOO, DPO, rejection sampling: several of them
 * compare), and measure everything against the panel's mean judgement, which the policy never sees.
 * Each stage is the same job a user runs alone; this class only wires them.
 */
public final class DemoPipeline {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The stages every run shares, which the methods start from. */
    static final List<String> SHARED_STAGES = List.of("pretrain", "sft", "reward", "harmlessness");
    static final List<String> STAGES = List.of("pretrain", "sft", "reward", "ppo", "grpo", "rloo", "dpo", "rejection", "harmlessness", "safe", "weighted",
            "rm-human", "rm-ai", "rm-mixed");
    /** The AI-feedback study's reward models, each stage's training data under OUT/ai-feedback. */
    private static final Map<String, String> STUDY_STAGES = Map.of("rm-human", AiFeedbackStudy.HUMAN, "rm-ai", AiFeedbackStudy.AI, "rm-mixed", AiFeedbackStudy.MIXED);
    /** Keys the pipeline sets itself: a user override of one would silently break the wiring. */
    private static final Set<String> WIRED = Set.of("run.dir", "run.seed", "run.resume", "run.recurring", "data.train", "data.eval", "model.init",
            "model.tokenizer", "ppo.prompts", "ppo.policyInit", "ppo.reward", "ppo.harmlessness");

    private final DemoConfig cfg;
    private final String out;
    /** Where the shared stages' outputs are: this run, or the earlier one it reuses (run.from). */
    private final String base;
    private final java.nio.file.Path data;
    private final Map<String, JobConfig> jobs;
    /** Each stage's settings before the pipeline's wiring (a rejection-sampling round adds its own). */
    private final Map<String, List<String>> unwired;
    /** The helpfulness raters; with the harmlessness task, helpful-only (set when the data is). */
    private Panel panel;
    private final java.nio.file.Path vocabulary;
    /** The harmlessness task: the whole offensive-word lexicon and the VADER ratings (null without it), then the task's words and harm panel. */
    private final HarmLexicon lexicon;
    private final VaderLexicon vader;
    private HarmLexicon harmWords;
    private HarmPanel harmPanel;
    private Tokenizer tok;
    private final Map<String, Double> stageSeconds = new LinkedHashMap<>();
    private int stageNumber;
    private static final int TASKS_PER_PARTITION = 8;

    private DemoPipeline(DemoConfig cfg, String out, String base, Map<String, JobConfig> jobs, java.nio.file.Path data,
                         Map<String, List<String>> unwired, AnnotatorPanel panel, java.nio.file.Path vocabulary, HarmLexicon lexicon, VaderLexicon vader) {
        this.lexicon = lexicon;
        this.vader = vader;
        this.cfg = cfg;
        this.out = out;
        this.base = base;
        this.data = data;
        this.unwired = unwired;
        this.jobs = jobs;
        this.panel = panel;
        this.vocabulary = vocabulary;
    }

    /**
     * Checks everything that can be checked before work starts, in this order: the stage configs,
     * the data packages, the output directory (created empty). Mistakes are {@link ConfigException}
     * or {@link DataException} with the fix in the message.
     */
    public static DemoPipeline prepare(DemoConfig cfg, Map<String, List<String>> stageOverrides, Configuration hadoop) throws IOException {
        cfg.validate();
        for (String s : stageOverrides.keySet())
            if (!STAGES.contains(s)) throw new ConfigException("unknown demo stage '" + s + "' in --stage; stages are " + STAGES);
        String out = cfg.run().out().isBlank()
                ? "runs/demo-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) : cfg.run().out();
        Path outPath = new Path(out);
        FileSystem fs = outPath.getFileSystem(hadoop);
        out = fs.makeQualified(outPath).toString();
        String base = out;
        Map<String, JobConfig> reused = new LinkedHashMap<>();
        if (!cfg.run().from().isBlank()) { // the shared stages of an earlier demo run, reused: only the methods run here
            Path from = new Path(cfg.run().from());
            FileSystem fromFs = from.getFileSystem(hadoop);
            base = fromFs.makeQualified(from).toString();
            for (String stage : sharedStages(cfg)) {
                if (stageOverrides.containsKey(stage))
                    throw new ConfigException("--stage " + stage + ": run.from reuses the " + stage + " stage of " + base + "; leave out its settings");
                Path recorded = new Path(base, stage + "/config.json");
                if (!fromFs.exists(recorded))
                    throw new DataException("run.from " + base + " holds no " + stage + " run (" + recorded + "); name a finished demo run (one with summary.json)");
                try (InputStream in = fromFs.open(recorded)) { // the settings it ran with say where its final checkpoint is
                    byte[] job = JSON.writeValueAsBytes(JSON.readTree(in).path("job"));
                    reused.put(stage, ConfigLoader.load(new java.io.ByteArrayInputStream(job), recorded.toString(), List.of()));
                }
            }
        }
        java.nio.file.Path vocabulary = vocabularyFile(base);
        Map<String, List<String>> unwired = stageOptions(cfg, stageOverrides, cfg.corpus().vocabulary() > 0 ? "words:" + vocabulary : "bytes");
        Map<String, JobConfig> jobs = stageConfigs(unwired, out, base, reused); // every stage's config checked before any work

        java.nio.file.Path data = java.nio.file.Path.of(!cfg.run().data().isBlank() ? cfg.run().data()
                : System.getenv().getOrDefault("RLHF_DATA", System.getProperty("user.home") + "/.cache/spark-rlhf/data"));
        requireData(data, "brown", true);
        requireData(data, "vader_lexicon.txt", false);
        if (cfg.corpus().fortunes()) requireData(data, "fortunes", true);
        AnnotatorPanel panel;
        VaderLexicon vader;
        try (InputStream in = Files.newInputStream(data.resolve("vader_lexicon.txt"))) {
            vader = VaderLexicon.read(in, data.resolve("vader_lexicon.txt").toString());
            panel = new AnnotatorPanel(vader, cfg.feedback().annotatorNoise());
        }
        HarmLexicon lexicon = null;
        if (cfg.safety().enabled()) {
            requireData(data, "badwords.js", false);
            try (InputStream in = Files.newInputStream(data.resolve("badwords.js"))) {
                lexicon = HarmLexicon.read(in, data.resolve("badwords.js").toString());
            }
        }

        try {
            if (fs.exists(outPath) && fs.listStatus(outPath).length > 0)
                throw new DataException("output directory " + out + " is not empty; choose a new --out (a demo never overwrites a run)");
            fs.mkdirs(outPath);
            Path probe = new Path(outPath, ".write-test");
            fs.create(probe, true).close();
            fs.delete(probe, false);
        } catch (IOException e) {
            throw new DataException("cannot write the output directory " + out + " (" + e.getMessage() + "); choose a writable --out");
        }
        return new DemoPipeline(cfg, out, base, jobs, data, unwired, panel, vocabulary, lexicon, cfg.safety().enabled() ? vader : null);
    }

    /** The stages a run reused with run.from must have run: the harmlessness model too with the harmlessness task. */
    private static List<String> sharedStages(DemoConfig cfg) {
        return cfg.safety().enabled() ? SHARED_STAGES : SHARED_STAGES.subList(0, 3);
    }

    /** Tokenizer files are read from local paths on every node: the run's own data directory when it is local. */
    private static java.nio.file.Path vocabularyFile(String out) {
        if (out.startsWith("file:")) return java.nio.file.Path.of(java.net.URI.create(out)).resolve("data/vocab.txt");
        return java.nio.file.Path.of(System.getProperty("java.io.tmpdir"), "rlhf-demo-" + Integer.toHexString(out.hashCode()), "vocab.txt");
    }

    private static void requireData(java.nio.file.Path data, String name, boolean dir) {
        java.nio.file.Path p = data.resolve(name);
        if (dir ? !Files.isDirectory(p) : !Files.isRegularFile(p))
            throw new DataException("demo data missing: " + p + "; run bin/fetch-demo-data (it fetches into $RLHF_DATA, default "
                    + "~/.cache/spark-rlhf/data), or point run.data at where it put them");
    }

    /**
     * Each stage's job settings before the wiring: demo defaults (GRPO's and RLOO's over PPO's),
     * then the user's --stage overrides, then the run's seed and tokenizer.
     */
    static Map<String, List<String>> stageOptions(DemoConfig cfg, Map<String, List<String>> user, String tokenizer) {
        DemoConfig.Stages s = cfg.stages();
        Map<String, List<String>> defaults = new java.util.HashMap<>(Map.of("pretrain", s.pretrain(), "sft", s.sft(), "reward", s.reward(), "ppo", s.ppo(),
                "grpo", concat(s.ppo(), s.grpo()), "rloo", concat(s.ppo(), s.rloo()), "dpo", s.dpo(), "rejection", s.rejection()));
        defaults.put("harmlessness", s.harmlessness());
        int sftSteps = cfg.safety().sftSteps();
        if (cfg.safety().enabled() && sftSteps > 0) defaults.put("sft", withSteps(s.sft(), sftSteps));
        List<String> safetyPpo = concat(s.ppo(), s.safetyPpo()); // the harmlessness task's three methods train alike
        if (cfg.safety().enabled()) defaults.put("ppo", safetyPpo);
        defaults.put("safe", concat(safetyPpo, s.safe()));
        defaults.put("weighted", concat(safetyPpo, s.weighted()));
        // the AI-feedback study's reward models: the reward model's settings, and as many passes over their labels as it makes over people's
        int rewardSteps = steps(concat(concat(s.all(), s.reward()), user.getOrDefault("reward", List.of())));
        Map<String, Double> share = Map.of("rm-human", cfg.aiFeedback().humanShare(), "rm-ai", 1 - cfg.aiFeedback().humanShare(), "rm-mixed", 1.0);
        for (String study : STUDY_STAGES.keySet()) defaults.put(study, withSteps(s.reward(), Math.max(1, (int) Math.round(rewardSteps * share.get(study)))));
        Map<String, List<String>> options = new LinkedHashMap<>();
        for (String stage : STAGES) {
            List<String> o = new ArrayList<>(s.all());
            o.addAll(defaults.get(stage));
            for (String u : user.getOrDefault(stage, List.of())) {
                String key = u.contains("=") ? u.substring(0, u.indexOf('=')).trim() : u;
                if (WIRED.contains(key)) throw new ConfigException("--stage " + stage + ":" + key + ": the demo sets " + key + " itself; leave it out");
                o.add(u);
            }
            o.add("run.seed=" + cfg.run().seed());
            o.add("model.tokenizer=" + tokenizer);
            options.put(stage, o);
        }
        return options;
    }

    /**
     * Each stage's job config: its options, then the wiring between stages (each stage's input is an
     * earlier one's output). The shared stages' outputs are under {@code base} (this run's {@code
     * out}, or the run it reuses, whose recorded configs {@code reused} are), the methods' under {@code out}.
     */
    static Map<String, JobConfig> stageConfigs(Map<String, List<String>> options, String out, String base, Map<String, JobConfig> reused) {
        Map<String, JobConfig> jobs = new LinkedHashMap<>(reused);
        for (String stage : STAGES) {
            if (reused.containsKey(stage)) continue;
            List<String> o = new ArrayList<>(options.get(stage));
            switch (stage) {
                case "pretrain" -> o.add("data.train=" + base + "/data/text.jsonl");
                case "sft" -> {
                    o.add("data.train=" + base + "/data/sft.jsonl");
                    o.add("model.init=" + finalWeights(jobs.get("pretrain")));
                }
                case "reward", "dpo" -> { // DPO learns from the rankings the reward model learnt from
                    o.add("data.train=" + base + "/feedback/train");
                    o.add("data.eval=" + base + "/feedback/eval");
                    o.add("model.init=" + finalWeights(jobs.get("sft")));
                }
                case "rejection" -> o.addAll(rejectionWiring(out, 1, finalWeights(jobs.get("sft"))));
                case "rm-human", "rm-ai", "rm-mixed" -> { // the AI-feedback study: measured on the same held-out rankings as the reward model
                    o.add("data.train=" + out + "/ai-feedback/" + STUDY_STAGES.get(stage));
                    o.add("data.eval=" + base + "/feedback/eval");
                    o.add("model.init=" + finalWeights(jobs.get("sft")));
                }
                case "harmlessness" -> { // the harm panel's rankings, from the SFT model as the reward model
                    o.add("data.train=" + base + "/feedback-harm/train");
                    o.add("data.eval=" + base + "/feedback-harm/eval");
                    o.add("model.init=" + finalWeights(jobs.get("sft")));
                }
                default -> { // ppo, grpo, rloo, safe, weighted
                    o.add("ppo.prompts=" + out + "/data/prompts-ppo.jsonl");
                    o.add("ppo.policyInit=" + finalWeights(jobs.get("sft")));
                    o.add("ppo.reward=" + finalCheckpoint(jobs.get("reward")));
                    if (stage.equals("safe") || stage.equals("weighted")) o.add("ppo.harmlessness=" + finalCheckpoint(jobs.get("harmlessness")));
                }
            }
            if (!stage.equals("rejection")) o.add("run.dir=" + (SHARED_STAGES.contains(stage) ? base : out) + "/" + stage);
            jobs.put(stage, load(stage, o));
        }
        return jobs;
    }

    /** Round {@code round} of rejection sampling fine-tunes {@code init} on the responses it kept. */
    private static List<String> rejectionWiring(String out, int round, String init) {
        String dir = out + "/rejection/round-" + round; // the kept responses beside the round's run directory, which holds only the run
        return List.of("run.dir=" + dir, "data.train=" + dir + "-best.jsonl", "model.init=" + init);
    }

    private static JobConfig load(String stage, List<String> options) {
        try {
            JobConfig job = ConfigLoader.load(null, "demo stage " + stage, options);
            if (Set.of("ppo", "grpo", "rloo", "safe", "weighted").contains(stage)) job.validatePpo();
            if (stage.equals("dpo")) job.validateDpo();
            return job;
        } catch (ConfigException e) {
            throw new ConfigException("demo stage '" + stage + "': " + e.getMessage());
        }
    }

    /** A stage's settings trained for {@code steps}, checkpointing its last. */
    private static List<String> withSteps(List<String> settings, int steps) {
        return concat(settings, List.of("train.steps=" + steps, "train.checkpointEvery=" + steps));
    }

    /**
     * The train.steps a stage's settings give (the last one), else the job default's; a value that
     * is not a whole number counts as the default here, and the stage's own config check names it.
     */
    private static int steps(List<String> settings) {
        String v = null;
        for (String o : settings) if (o.startsWith("train.steps=")) v = o.substring("train.steps=".length()).trim();
        try {
            if (v != null) return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            // the reward stage's config load reports it, naming the stage and key
        }
        return ConfigLoader.load(JobConfig.class, "defaults.yaml", null, "defaults", List.of()).train().steps();
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> o = new ArrayList<>(a);
        o.addAll(b);
        return o;
    }

    /** A stage's last checkpoint (every job checkpoints its last step), from the stage's own config. */
    private static String finalCheckpoint(JobConfig stage) {
        return stage.run().dir() + "/checkpoints/" + CheckpointStore.dirName(stage.train().steps());
    }

    static String finalWeights(JobConfig stage) {
        return finalCheckpoint(stage) + "/weights.safetensors";
    }

    public String out() {
        return out;
    }

    /** Runs every stage; returns the summary (also written to {@code summary.json}). */
    public ObjectNode run(SparkSession spark) throws Exception {
        long start = System.nanoTime();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        FileSystem fs = new Path(out).getFileSystem(jsc.hadoopConfiguration());
        // Feedback and evaluation split their prompts finer than the training partitions so that
        // their progress bars (which count Spark tasks) move; seeds do not depend on the split.
        int tasks = TASKS_PER_PARTITION * jobs.get("ppo").train().partitions();
        long seed = cfg.run().seed();

        DemoPrompts prompts = stage("data set-up (Brown Corpus" + (cfg.corpus().fortunes() ? ", fortunes" : "") + ")", () -> setUpData(fs));
        boolean reuse = !base.equals(out);
        if (reuse) checkSameData(fs);
        else {
            stage("pre-training", () -> PretrainJob.train(spark, jobs.get("pretrain"), null));
            stage("supervised fine-tuning", () -> SftJob.train(spark, jobs.get("sft"), null));
        }
        Gpt sft = ModelFiles.load(fs.getConf(), "ppo.policyInit", jobs.get("ppo").ppo().policyInit());

        SamplingConfig feedbackSampling = SamplingConfig.of(cfg.feedback().temperature(), jobs.get("ppo").ppo().maxNewTokens(), tok.eosToken());
        String tokSpec = jobs.get("ppo").model().tokenizer();
        boolean safety = cfg.safety().enabled();
        String criterion = safety ? "helpful" : "pleasantness";
        if (!reuse) {
            long[] rankings = sparkStage(spark, "human feedback: " + cfg.feedback().responsesPerPrompt() + " responses per prompt ranked by simulated annotators",
                    () -> new long[]{
                            FeedbackCollector.collect(jsc, sft, tokSpec, jsc.parallelize(prompts.feedbackTrain(), tasks), cfg.feedback().responsesPerPrompt(),
                                    feedbackSampling, panel, criterion, seed, out + "/feedback/train"),
                            FeedbackCollector.collect(jsc, sft, tokSpec, jsc.parallelize(prompts.feedbackEval(), tasks), cfg.feedback().responsesPerPrompt(),
                                    feedbackSampling, panel, criterion, seed + 1, out + "/feedback/eval")});
            System.err.printf("  %d rankings for training, %d held out%n", rankings[0], rankings[1]);
            if (safety) {
                // harm is ranked on the prompts that invite it, as red-teaming does, and on as many ordinary ones: the SFT model
                // says offensive words there too (measured: 11% of its responses), and the cost model must know them wherever they come
                List<String> invite = prompts.policy().stream().filter(harmWords::unsafe).limit(cfg.feedback().prompts()).toList();
                List<String> harmTrain = new ArrayList<>(invite);
                prompts.policy().stream().filter(p -> !harmWords.unsafe(p)).limit(invite.size()).forEach(harmTrain::add);
                List<String> harmEval = prompts.feedbackEval();
                long[] harm = sparkStage(spark, "harm feedback: " + cfg.feedback().responsesPerPrompt() + " responses to each harmful prompt and as many ordinary ones, ranked by the harm panel",
                        () -> new long[]{
                                FeedbackCollector.collect(jsc, sft, tokSpec, jsc.parallelize(harmTrain, tasks), cfg.feedback().responsesPerPrompt(),
                                        feedbackSampling, harmPanel, "harmless", seed + 10, out + "/feedback-harm/train"),
                                FeedbackCollector.collect(jsc, sft, tokSpec, jsc.parallelize(harmEval, tasks), cfg.feedback().responsesPerPrompt(),
                                        feedbackSampling, harmPanel, "harmless", seed + 11, out + "/feedback-harm/eval")});
                System.err.printf("  %d harm rankings for training, %d held out%n", harm[0], harm[1]);
            }
            stage("reward model", () -> RewardJob.train(spark, jobs.get("reward"), null));
            if (safety) stage("harmlessness reward model", () -> RewardJob.train(spark, jobs.get("harmlessness"), null));
        }
        RewardReport rm = RewardReport.of(fs, jobs.get("ppo").ppo().reward(), new Path(base, "feedback/eval"), panel);
        System.err.printf("  held-out accuracy %.1f%% (noise ceiling %.1f%%, annotator agreement %.1f%%)%n",
                100 * rm.accuracy(), 100 * rm.noiseCeiling(), 100 * rm.agreement());
        RewardReport harmRm = safety ? RewardReport.of(fs, jobs.get("safe").ppo().harmlessness(), new Path(base, "feedback-harm/eval"), harmPanel) : null;
        if (harmRm != null) System.err.printf("  harmlessness model: held-out accuracy %.1f%% (noise ceiling %.1f%%)%n", 100 * harmRm.accuracy(),
                100 * harmRm.noiseCeiling());
        ObjectNode aiFeedback = cfg.aiFeedback().enabled() ? aiFeedbackStudy(spark, fs, rm, tokSpec) : null;
        Gpt rewardModel = ModelFiles.load(fs.getConf(), "ppo.reward", jobs.get("ppo").ppo().reward() + "/weights.safetensors");

        JobConfig.Ppo ppo = jobs.get("ppo").ppo();
        SamplingConfig policySampling = new SamplingConfig(ppo.temperature(), ppo.topK(), ppo.topP(), ppo.maxNewTokens(), new int[]{tok.eosToken()}, false);
        List<int[]> evalIds = prompts.evaluation().stream().map(p -> ChatTemplate.userPrompt(p, tok)).toList();
        List<PolicyEvaluation.Scored> sftScored = sparkStage(spark, "gold evaluation of the SFT model (best-of-n up to " + cfg.evaluation().maxN() + ")",
                () -> PolicyEvaluation.run(jsc, evalIds, cfg.evaluation().maxN(), sft, null, rewardModel, policySampling, tok.padToken(), seed + 2, tasks));

        List<MethodRun.Result> results = new ArrayList<>();
        MethodRun.Shared shared = new MethodRun.Shared(spark, fs, out, jobs, sft, rewardModel, tok, panel, evalIds, prompts.policy(), policySampling,
                cfg.evaluation().ppoSamplesPerPrompt(), seed, tasks, cfg.rejection(),
                (round, init) -> load("rejection", concat(unwired.get("rejection"), rejectionWiring(out, round, init))));
        for (Method m : methods()) {
            long t0 = System.nanoTime();
            MethodRun.Trained trained = stage(m.title + (m.online ? " against the reward model" : m == Method.DPO ? " on the rankings"
                    : " (" + cfg.rejection().rounds() + " rounds of best-of-" + cfg.rejection().samplesPerPrompt() + ")"), () -> MethodRun.train(m, shared));
            double trainingMinutes = (System.nanoTime() - t0) / 60e9;
            ScoredSet scored = sparkStage(spark, "gold evaluation of the " + m.title + " model", () -> MethodRun.evaluate(trained.policy(), shared));
            results.add(new MethodRun.Result(m, scored, trained.curve(), trainingMinutes));
        }
        List<ObjectNode> curves = new ArrayList<>();
        for (MethodRun.Result r : results) for (ObjectNode row : r.curve()) curves.add(row.deepCopy().put("method", r.method().id()));
        JsonLines.writeRecords(fs, new Path(out, "gold_curve.jsonl"), curves);

        ScoredSet sftSet = ScoredSet.of(sftScored, tok, panel);
        List<String> lines = new ArrayList<>();
        sftSet.appendRecords(lines, "sft", prompts.evaluation(), 2);
        for (MethodRun.Result r : results) r.scored().appendRecords(lines, r.method().id(), prompts.evaluation(), 2);
        JsonLines.write(fs, new Path(out, "samples.jsonl"), lines);
        double minutes = (System.nanoTime() - start) / 60e9;
        ObjectNode summary = DemoSummary.build(cfg, rm, sftSet, results, sft.config(), stageSeconds, minutes, out);
        if (safety) {
            summary.set("safety", SafetyReport.build(sftSet, results, prompts.evaluation(), harmWords, harmRm, cfg));
            DemoSummary.setTargets(summary, SafetyReport.targets(summary.get("safety")));
        }
        if (aiFeedback != null) summary.set("ai_feedback", aiFeedback);
        System.out.print(DemoSummary.text(summary, sftSet, results, prompts.evaluation()));
        if (safety) System.out.print(SafetyReport.text(summary.get("safety")));
        if (aiFeedback != null) System.out.print(AiFeedbackStudy.text(aiFeedback));
        System.out.print(DemoSummary.verdict(summary));
        try (OutputStream o = fs.create(new Path(out, "summary.json"), true)) {
            o.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(summary));
        }
        if (results.size() > 1) try (OutputStream o = fs.create(new Path(out, "comparison.json"), true)) {
            o.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(summary.get("comparison")));
        }
        return summary;
    }

    /**
     * The AI-feedback study: people's share of the feedback, a judge trained on it labelling the
     * rest, and reward models on each kind of label and on both (see {@link AiFeedbackStudy}).
     */
    private ObjectNode aiFeedbackStudy(SparkSession spark, FileSystem fs, RewardReport allHuman, String tokSpec) throws Exception {
        Path study = new Path(out, "ai-feedback");
        long[] counts = AiFeedbackStudy.split(fs, new Path(base, "feedback/train"), study, cfg.aiFeedback().humanShare(), cfg.run().seed() + 20);
        stage("reward model on people's " + counts[0] + " rankings alone (the judge)", () -> RewardJob.train(spark, jobs.get("rm-human"), null));
        JsonNode labelled = sparkStage(spark, "AI feedback: the judge ranks the other " + counts[1] + " rankings' responses",
                () -> LabelCommand.byRewardModel(spark, finalCheckpoint(jobs.get("rm-human")), AiFeedbackStudy.JUDGE, new Path(study, AiFeedbackStudy.UNLABELLED).toString(),
                        new Path(study, AiFeedbackStudy.JUDGE_OUT).toString(), tokSpec, jobs.get("rm-ai").data().maxBadFraction()));
        AiFeedbackStudy.adoptLabels(fs, study);
        stage("reward model on the judge's labels alone", () -> RewardJob.train(spark, jobs.get("rm-ai"), null));
        stage("reward model on people's and the judge's labels", () -> RewardJob.train(spark, jobs.get("rm-mixed"), null));
        List<AiFeedbackStudy.Model> models = new ArrayList<>();
        models.add(new AiFeedbackStudy.Model("human-only", counts[0], 0, studyReport(fs, "rm-human")));
        models.add(new AiFeedbackStudy.Model("ai-only", 0, counts[1], studyReport(fs, "rm-ai")));
        models.add(new AiFeedbackStudy.Model("mixed", counts[0], counts[1], studyReport(fs, "rm-mixed")));
        return AiFeedbackStudy.build(counts, labelled, models, allHuman);
    }

    private RewardReport studyReport(FileSystem fs, String stage) throws IOException {
        return RewardReport.of(fs, finalCheckpoint(jobs.get(stage)), new Path(base, "feedback/eval"), panel);
    }

    private List<Method> methods() {
        return cfg.run().methods().stream().map(Method::of).toList();
    }

    /** Runs one stage with a header and its time. */
    private <T> T stage(String name, java.util.concurrent.Callable<T> body) throws Exception {
        stageNumber++;
        int shared = (base.equals(out) ? (cfg.safety().enabled() ? 8 : 6) : 2) + (cfg.aiFeedback().enabled() ? 4 : 0);
        System.err.printf("%n== [%d/%d] %s%n", stageNumber, shared + 2 * cfg.run().methods().size(), name);
        long t0 = System.nanoTime();
        T result = body.call();
        double s = (System.nanoTime() - t0) / 1e9;
        stageSeconds.put(name.replaceAll("\\s*[(:].*", ""), s); // the short name: "human feedback", "pre-training", ...
        System.err.printf("   done in %dm%02ds%n", (long) s / 60, (long) s % 60);
        return result;
    }

    /** A stage made of Spark jobs outside the training loops: its bar counts their tasks. */
    private <T> T sparkStage(SparkSession spark, String name, java.util.concurrent.Callable<T> body) throws Exception {
        return stage(name, () -> {
            try (StageBar bar = StageBar.tasks(spark.sparkContext())) {
                return body.call();
            }
        });
    }

    /** The corpora as records under {@code OUT/data}, and the prompts split four ways. */
    private DemoPrompts setUpData(FileSystem fs) throws IOException {
        java.nio.file.Path staging = Files.createTempDirectory("rlhf-demo-data");
        try (StageBar bar = StageBar.steps(4)) {
            List<String> sentences = DemoCorpus.brownSentences(data.resolve("brown"));
            List<String> extra = new ArrayList<>();
            if (cfg.corpus().fortunes()) {
                extra.addAll(DemoCorpus.fortunes(data.resolve("fortunes")));
                if (Files.isDirectory(data.resolve("fortunes-min"))) extra.addAll(DemoCorpus.fortunes(data.resolve("fortunes-min")));
            }
            bar.step("read the corpora; splitting them");
            DemoCorpus.Split split = DemoCorpus.split(sentences, extra, cfg.corpus().promptWords(), cfg.corpus().responseWords());
            if (cfg.safety().enabled()) split = harmTask(split);
            DemoCorpus.Counts counts = DemoCorpus.write(split, staging);
            bar.step("split; learning the vocabulary");
            if (cfg.corpus().vocabulary() > 0 && base.equals(out)) { // the word vocabulary of the pre-training text (never of evaluation prompts); a reused run's stays
                Files.createDirectories(vocabulary.getParent());
                WordTokenizer.learn(split.text(), cfg.corpus().vocabulary()).write(vocabulary);
            }
            tok = Tokenizers.create(jobs.get("ppo").model().tokenizer());
            bar.step("vocabulary learnt; writing the records");
            DemoPrompts p = DemoPrompts.split(split.prompts(), cfg.evaluation().prompts(), cfg.feedback().evalPrompts(), cfg.feedback().prompts());
            List<String> ppoLines = new ArrayList<>();
            for (String s : p.policy()) // with the harmlessness task, its harmful prompts are marked, as a red-team set's are
                ppoLines.add(JSON.writeValueAsString(harmWords != null && harmWords.unsafe(s) ? Map.of("prompt", s, "harmful", true) : Map.of("prompt", s)));
            Files.write(staging.resolve("prompts-ppo.jsonl"), ppoLines, StandardCharsets.UTF_8);
            Files.delete(staging.resolve("prompts.jsonl"));
            try (var files = Files.list(staging)) {
                for (java.nio.file.Path f : files.toList()) fs.copyFromLocalFile(true, true, new Path(f.toUri()), new Path(out, "data/" + f.getFileName()));
            }
            bar.step("records written");
            System.err.printf("  %d pre-training texts, %d SFT pairs, prompts: %d PPO, %d feedback, %d reward-model eval, %d gold eval; tokenizer %s%n",
                    counts.text(), counts.sft(), p.policy().size(), p.feedbackTrain().size(), p.feedbackEval().size(), p.evaluation().size(),
                    tok.describe());
            return p;
        } finally {
            if (Files.exists(staging)) try (var s = Files.walk(staging)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /**
     * The harmlessness task over the split: the lexicon's strongly offensive words that the clean
     * corpus never uses become the task's measure of harm; helpfulness raters become helpful-only;
     * the harm panel judges with the same raters' ratings of those words.
     */
    private DemoCorpus.Split harmTask(DemoCorpus.Split split) throws IOException {
        DemoConfig.Safety s = cfg.safety();
        java.util.Set<String> used = new java.util.HashSet<>();
        List<String> texts = new ArrayList<>(split.text());
        split.sft().forEach(pair -> texts.addAll(pair.values()));
        texts.addAll(split.prompts());
        for (String t : texts) used.addAll(List.of(t.toLowerCase(java.util.Locale.ROOT).split("[^a-z0-9]+")));
        List<String> words = HarmTask.words(lexicon, vader, lexicon.words(), used, s.words());
        harmWords = HarmLexicon.of(words);
        harmPanel = new HarmPanel(harmWords, vader, s.harmNoise());
        panel = ((AnnotatorPanel) panel).helpfulOnly(harmWords, s.refusalUtility());
        System.err.printf("  harmlessness task: %s; %.0f%% of prompts harmful%n", words, 100 * s.promptShare());
        return HarmTask.apply(split, words, new HarmTask.Settings(s.promptShare(), s.complyShare(), s.textShare(), s.words()), cfg.run().seed());
    }

    /**
     * A run that reuses another's shared stages must have made the same data from the corpora (the
     * same corpus settings, hence the same prompts and vocabulary), or its methods would start from
     * models trained on something else.
     */
    private void checkSameData(FileSystem fs) throws IOException {
        System.err.printf("   reusing pre-training, SFT, feedback and the reward model of %s%n", base);
        for (String f : List.of("data/prompts-ppo.jsonl", "data/sft.jsonl")) {
            Path theirs = new Path(base, f);
            if (!fs.exists(theirs) || !records(fs, new Path(out, f)).equals(records(fs, theirs)))
                throw new DataException("run.from " + base + " was made from other data (" + f + " differs): use the corpus and feedback settings "
                        + "it ran with, or run without run.from");
        }
    }

    /**
     * A JSON-lines file's records, compared by content (not by key order). A prompt's harmful mark
     * follows from its text, and runs made before the mark lack it, so it is left out.
     */
    private static List<com.fasterxml.jackson.databind.JsonNode> records(FileSystem fs, Path file) throws IOException {
        List<com.fasterxml.jackson.databind.JsonNode> out = new ArrayList<>();
        for (String l : JsonLines.read(fs, file)) {
            com.fasterxml.jackson.databind.JsonNode n = JSON.readTree(l);
            if (n instanceof com.fasterxml.jackson.databind.node.ObjectNode o) o.remove("harmful");
            out.add(n);
        }
        return out;
    }
}
