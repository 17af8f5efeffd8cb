package org.sparkrlhf.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkrlhf.config.ConfigException;
import org.sparkrlhf.config.ConfigLoader;
import org.sparkrlhf.config.DemoConfig;
import org.sparkrlhf.data.DataException;
import org.sparkrlhf.engine.LocalSparkTest;

/**
 * The demo end to end at a tiny size on the test data (Brown Corpus and VADER raters), and its
 * checks before work starts. The run it leaves in {@code target/test-runs/demo} is what the
 * notebooks are executed against.
 */
class DemoPipelineTest extends LocalSparkTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String TESTDATA = System.getProperty("rlhf.testdata", ".cache/testdata");

    /** A run small enough for CI: every stage, a few steps each. */
    static DemoConfig tiny(String out, String... more) {
        List<String> o = new ArrayList<>(List.of("run.out=" + out, "run.data=" + TESTDATA,
                "corpus.fortunes=false", "feedback.prompts=96", "feedback.evalPrompts=48", "evaluation.prompts=16",
                "evaluation.bestOfN=[1,2,4]", "evaluation.ppoSamplesPerPrompt=2", "rejection.prompts=32", "rejection.samplesPerPrompt=2"));
        o.addAll(List.of(more));
        return ConfigLoader.load(DemoConfig.class, "demo.yaml", null, "test", o).validate();
    }

    static Map<String, List<String>> tinyStages() {
        Map<String, List<String>> m = new HashMap<>();
        m.put("pretrain", List.of("train.steps=30", "train.warmupSteps=3", "train.checkpointEvery=30", "train.globalBatch=32", "train.microBatch=8"));
        m.put("sft", List.of("train.steps=10", "train.warmupSteps=2", "train.checkpointEvery=10", "train.globalBatch=32", "train.microBatch=8"));
        m.put("reward", List.of("train.steps=12", "train.warmupSteps=2", "train.checkpointEvery=6", "train.globalBatch=16"));
        m.put("ppo", List.of("ppo.iterations=4", "ppo.promptsPerIteration=16", "ppo.maxNewTokens=16", "ppo.epochs=2", "train.checkpointEvery=2"));
        for (String group : List.of("grpo", "rloo"))
            m.put(group, List.of("ppo.iterations=3", "ppo.promptsPerIteration=4", "ppo.maxNewTokens=16", "ppo.epochs=2", "train.checkpointEvery=3"));
        m.put("dpo", List.of("train.steps=6", "train.warmupSteps=1", "train.checkpointEvery=3", "train.globalBatch=16", "train.microBatch=8"));
        m.put("rejection", List.of("train.steps=4", "train.warmupSteps=1", "train.checkpointEvery=4", "train.globalBatch=16", "train.microBatch=8"));
        m.put("harmlessness", m.get("reward"));
        for (String study : List.of("rm-human", "rm-ai", "rm-mixed")) m.put(study, m.get("reward"));
        for (String safe : List.of("safe", "weighted")) m.put(safe, m.get("ppo"));
        return m;
    }

    /** Runs the tiny demo into target/test-runs/NAME (replacing an earlier one); returns the run directory and summary. */
    static Map.Entry<Path, JsonNode> tinyRun(String name, Map<String, List<String>> stages, String... settings) throws Exception {
        Path out = Path.of("target/test-runs", name).toAbsolutePath();
        if (Files.exists(out)) try (var s = Files.walk(out)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
        DemoPipeline pipeline = DemoPipeline.prepare(tiny(out.toString(), settings), stages, new Configuration());
        return Map.entry(out, pipeline.run(spark));
    }

    @Test
    void runsEveryStageAndWritesTheRunRecords() throws Exception {
        var run = tinyRun("demo", tinyStages());
        Path out = run.getKey();
        JsonNode summary = run.getValue();

        JsonNode written = JSON.readTree(out.resolve("summary.json").toFile());
        assertEquals(JSON.readTree(JSON.writeValueAsString(summary)), written, "summary.json is the returned summary");
        for (String k : List.of("rm_accuracy", "rm_noise_ceiling", "gold_sft_mean", "gold_sft_std", "gold_ppo_mean", "proxy_ppo_mean", "kl_ppo", "minutes"))
            assertTrue(written.get(k).isNumber(), k + " in " + written);
        assertTrue(written.get("rm_accuracy").asDouble() >= 0 && written.get("rm_accuracy").asDouble() <= 1);
        assertEquals(written.get("gold_gain_sd_se"), written.get("gold_gain_sd_ppo_se"), "the method's gain error, by its name too");
        assertTrue(written.get("rm_noise_ceiling").asDouble() >= 0.5, "the panel's mean judgement beats chance on its own labels");
        assertTrue(Math.abs(written.get("gold_sft_mean").asDouble()) <= 4, "gold is a mean rating on VADER's -4..4 scale");
        JsonNode bon = written.get("best_of_n");
        assertEquals(3, bon.size());
        assertEquals(0.0, bon.get(0).get("kl").asDouble(), 1e-12);
        assertEquals(Math.log(4) - 0.75, bon.get(2).get("kl").asDouble(), 1e-12);
        // best-of-1 is just the SFT samples' first draw per prompt: its proxy score can only grow with n
        assertTrue(bon.get(2).get("proxy_mean").asDouble() >= bon.get(0).get("proxy_mean").asDouble());
        assertEquals(4, written.get("ppo_curve").size());
        // each target's verdict follows from the figures beside it
        JsonNode t = written.get("targets");
        assertEquals(written.get("minutes").asDouble() <= 15, t.get("minutes_le_15").asBoolean());
        assertEquals(written.get("rm_accuracy").asDouble() >= written.get("rm_noise_ceiling").asDouble() - 0.05,
                t.get("rm_within_5_points_of_ceiling").asBoolean());
        assertEquals(written.has("gold_gain_sd") && written.get("gold_gain_sd").asDouble() >= 1.0, t.get("gold_gain_ge_1_sd").asBoolean());
        assertEquals(written.get("kl_ppo").asDouble() <= 6 && !(written.path("kl_ppo_max_during_training").asDouble() > 6), t.get("kl_le_6").asBoolean());
        java.util.Set<String> missed = new java.util.HashSet<>();
        written.get("targets_missed").forEach(m -> missed.add(m.asText()));
        java.util.Set<String> failed = new java.util.HashSet<>();
        t.fields().forEachRemaining(e -> {
            if (!e.getValue().asBoolean()) failed.add(e.getKey());
        });
        assertEquals(failed, missed, "targets_missed lists exactly the targets not met");

        Set<String> stages = new HashSet<>();
        List<String> lines = Files.readAllLines(out.resolve("samples.jsonl"));
        for (String l : lines) {
            JsonNode s = JSON.readTree(l);
            for (String k : List.of("stage", "prompt", "response", "gold", "proxy")) assertTrue(s.has(k), k + " in " + l);
            stages.add(s.get("stage").asText());
        }
        assertEquals(Set.of("sft", "ppo"), stages);
        assertEquals(16 * 2 * 2, lines.size(), "two samples per held-out prompt and stage");
        assertEquals(4, Files.readAllLines(out.resolve("gold_curve.jsonl")).size());
        for (String stage : List.of("pretrain", "sft", "reward", "ppo"))
            assertTrue(Files.isDirectory(out.resolve(stage).resolve("checkpoints")), stage + " checkpoints");
        for (String other : List.of("grpo", "rloo", "dpo", "rejection")) assertFalse(Files.exists(out.resolve(other)), "only PPO ran: " + other);
        assertFalse(Files.exists(out.resolve("comparison.json")), "one method: no comparison");
        assertTrue(Files.exists(out.resolve("ppo/metrics/ppo.jsonl")));
        assertTrue(Files.readAllLines(out.resolve("data/vocab.txt")).size() <= 4096, "the word vocabulary the stages share");
    }

    /**
     * Every method from the same SFT model, reward model and feedback (PPO with a fixed KL
     * coefficient, so the run-comparison notebook also has two different PPO runs to compare).
     */
    @Test
    void comparesEveryMethodFromTheSameStart() throws Exception {
        Map<String, List<String>> stages = new HashMap<>(tinyStages());
        List<String> ppo = new ArrayList<>(stages.get("ppo"));
        ppo.add("ppo.klMode=fixed");
        ppo.add("ppo.klBeta=0.02");
        stages.put("ppo", ppo);
        var run = tinyRun("demo-compare", stages, "run.methods=" + DemoConfig.METHODS, "rejection.rounds=2");
        Path out = run.getKey();
        JsonNode summary = run.getValue();
        for (JsonNode row : summary.get("ppo_curve")) assertEquals(0.02, row.get("beta").asDouble(), 1e-12, "a fixed coefficient stays put");

        JsonNode table = JSON.readTree(out.resolve("comparison.json").toFile());
        assertEquals(JSON.readTree(JSON.writeValueAsString(summary.get("comparison"))), table, "comparison.json is the summary's table");
        List<String> methods = new ArrayList<>();
        table.forEach(r -> methods.add(r.get("method").asText()));
        assertEquals(DemoConfig.METHODS, methods);
        double sftStd = summary.get("gold_sft_std").asDouble();
        for (JsonNode r : table) {
            String m = r.get("method").asText();
            for (String k : List.of("gold_mean", "kl", "proxy_mean", "distinct_2", "distinct_2_sft", "training_minutes"))
                assertTrue(r.get(k).isNumber(), k + " of " + m + ": " + r);
            if (sftStd > 0) assertEquals((r.get("gold_mean").asDouble() - summary.get("gold_sft_mean").asDouble()) / sftStd, r.get("gold_gain_sd").asDouble(),
                    1e-9, m + ": the gain is in SFT standard deviations");
            else assertTrue(r.get("gold_gain_sd").isNull(), m + ": no gain in SFT standard deviations when they are 0");
            assertEquals(summary.get("gold_" + m + "_mean").asDouble(), r.get("gold_mean").asDouble(), 0, m);
            JsonNode bon = r.get("best_of_n_at_matched_kl");
            for (int n = 1; n <= 4; n++) // the nearest KL among the best-of-n the SFT evaluation can form (4 samples per prompt)
                assertTrue(Math.abs(Math.log(n) - (n - 1.0) / n - r.get("kl").asDouble()) >= Math.abs(bon.get("kl").asDouble() - r.get("kl").asDouble()) - 1e-12);
            assertTrue(Files.exists(out.resolve(m.equals("rejection") ? "rejection/round-2/checkpoints" : m + "/checkpoints")), m + " checkpoints");
        }
        JsonNode ppoRow = table.get(0), grpoRow = table.get(1);
        assertTrue(ppoRow.get("critic_seconds_per_iteration").asDouble() > 0 && ppoRow.get("critic_bytes_per_rank").asLong() > 0, ppoRow.toString());
        assertEquals(ppoRow.get("critic_bytes_per_rank").asLong(), grpoRow.get("critic_bytes_saved_per_rank").asLong(), "GRPO saves what PPO's critic takes");
        assertFalse(Files.exists(out.resolve("grpo/checkpoints").toFile().listFiles()[0].toPath().resolve("critic.safetensors")));
        assertEquals(3, summary.get("grpo_curve").size(), "one point per GRPO iteration");
        assertEquals(1, summary.get("dpo_curve").size(), "DPO's checkpoint at step 3 of 6, evaluated on the way");
        assertEquals(1, summary.get("rejection_curve").size(), "round 1 of 2, evaluated on the way");
        assertTrue(Files.readAllLines(out.resolve("rejection/round-1-best.jsonl")).size() > 16, "the best of 2 kept for most of 32 prompts");
        java.util.Set<String> curveMethods = new java.util.HashSet<>(), sampleStages = new java.util.HashSet<>();
        for (String l : Files.readAllLines(out.resolve("gold_curve.jsonl"))) curveMethods.add(JSON.readTree(l).get("method").asText());
        for (String l : Files.readAllLines(out.resolve("samples.jsonl"))) sampleStages.add(JSON.readTree(l).get("stage").asText());
        assertEquals(java.util.Set.copyOf(DemoConfig.METHODS), curveMethods);
        assertEquals(java.util.Set.of("sft", "ppo", "grpo", "rloo", "dpo", "rejection"), sampleStages);
        JsonNode t = summary.get("targets");
        assertFalse(t.has("minutes_le_15"), "the time target is the single-method demo's");
        for (String m : List.of("ppo", "grpo", "rloo"))
            assertEquals(summary.get("gold_gain_sd_" + m).asDouble() >= 1.0, t.get(m + "_gold_gain_ge_1_sd").asBoolean(), m);
        assertFalse(t.has("dpo_gold_gain_ge_1_sd") || t.has("rejection_kl_le_6"), "DPO and rejection sampling are reported, not held to the online target");

        // a run that reuses this one's shared stages gets exactly this one's GRPO (everything is seeded), and writes nothing into it;
        // it runs the AI-feedback study on the reused feedback
        long before;
        try (var files = Files.walk(out)) {
            before = files.count();
        }
        Map<String, List<String>> methodStages = new HashMap<>(stages); // the evaluation samples with the ppo stage's settings: keep them
        DemoPipeline.SHARED_STAGES.forEach(methodStages::remove);
        var reuse = tinyRun("demo-reuse", methodStages, "run.methods=[grpo]", "run.from=" + out, "aiFeedback.enabled=true", "aiFeedback.humanShare=0.25");
        JsonNode again = reuse.getValue();
        assertAiFeedbackStudy(out, reuse.getKey(), again);
        assertEquals(summary.get("gold_grpo_mean").asDouble(), again.get("gold_grpo_mean").asDouble(), 0);
        assertEquals(summary.get("kl_grpo").asDouble(), again.get("kl_grpo").asDouble(), 0);
        assertFalse(Files.exists(reuse.getKey().resolve("sft")) || Files.exists(reuse.getKey().resolve("reward")), "the shared stages are not run again");
        try (var files = Files.walk(out)) {
            assertEquals(before, files.count(), "the reused run is left as it was");
        }
    }

    /**
     * The AI-feedback study: a quarter of the reused run's rankings for people, the rest ranked by
     * the judge (labels marked ai:rm-human, measured against the panel's rankings they replace),
     * three reward models on their own labels, and the summary's table.
     */
    private static void assertAiFeedbackStudy(Path reused, Path out, JsonNode summary) throws Exception {
        List<String> all = new ArrayList<>();
        try (var parts = Files.list(reused.resolve("feedback/train"))) {
            for (Path p : parts.filter(p -> p.getFileName().toString().startsWith("part-")).sorted().toList()) all.addAll(Files.readAllLines(p));
        }
        all.removeIf(String::isBlank);
        Path study = out.resolve("ai-feedback");
        List<String> people = Files.readAllLines(study.resolve("train/human/part-00000.jsonl"));
        assertEquals(Math.round(0.25 * all.size()), people.size());
        assertTrue(all.containsAll(people), "people's share is the panel's own rankings");
        List<JsonNode> labels = new ArrayList<>();
        try (var parts = Files.list(study.resolve("train/ai"))) {
            for (Path p : parts.filter(p -> p.getFileName().toString().startsWith("part-")).sorted().toList())
                for (String l : Files.readAllLines(p)) if (!l.isBlank()) labels.add(JSON.readTree(l));
        }
        long setAside = JSON.readTree(study.resolve("judge/label.json").toFile()).get("quarantined").asLong(); // too long for the judge's context
        assertEquals(all.size() - people.size(), labels.size() + setAside, "the judge ranks every ranking people did not make");
        java.util.Set<String> peoplePrompts = new java.util.HashSet<>();
        for (String l : people) peoplePrompts.add(JSON.readTree(l).get("prompt").asText() + JSON.readTree(l).get("responses"));
        for (JsonNode l : labels) {
            assertEquals("ai:rm-human", l.get("annotator").asText());
            assertFalse(peoplePrompts.contains(l.get("prompt").asText() + l.get("responses")), "the judge's share and people's are apart");
            assertTrue(l.has("human_ranking"), "each label keeps the panel's ranking it is measured against");
        }
        JsonNode s = summary.get("ai_feedback");
        assertEquals(people.size(), s.get("people_rankings").asLong());
        assertEquals(all.size() - people.size(), s.get("judge_rankings").asLong());
        JsonNode agree = s.get("judge_agreement_with_panel");
        assertEquals(labels.size() * 6L, agree.get("response_pairs").asLong(), "4 responses: 6 pairs per ranking");
        List<String> kinds = new ArrayList<>();
        for (JsonNode m : s.get("reward_models")) {
            kinds.add(m.get("labels").asText());
            double acc = m.get("accuracy").asDouble();
            assertTrue(acc >= 0 && acc <= 1, m.toString());
            double saved = m.get("labels").asText().equals("human (all)") ? 0 : 1 - (double) people.size() / all.size(); // the judge learnt from people's share
            assertEquals(saved, m.get("labelling_cost_saved").asDouble(), 1e-12, m.toString());
        }
        assertEquals(List.of("human (all)", "human-only", "ai-only", "mixed"), kinds);
        assertEquals(summary.get("rm_accuracy").asDouble(), s.get("reward_models").get(0).get("accuracy").asDouble(), 0, "the reused reward model is the all-human one");
        for (String stage : List.of("rm-human", "rm-ai", "rm-mixed")) {
            JsonNode cfg = JSON.readTree(out.resolve(stage + "/config.json").toFile()).get("job");
            assertTrue(cfg.get("data").get("train").asText().contains("/ai-feedback/train"), stage + " trains on the study's labels: " + cfg.get("data"));
        }
    }

    @Test
    void theHarmlessnessTaskTrainsSftLongerUnlessTheUserSaysOtherwise() {
        String steps = "train.steps=" + tiny("unused").safety().sftSteps();
        assertFalse(DemoPipeline.stageOptions(tiny("unused"), Map.of(), "bytes").get("sft").contains(steps), "the plain demo keeps the sft stage's steps");
        List<String> sft = DemoPipeline.stageOptions(tiny("unused", "safety.enabled=true"), Map.of(), "bytes").get("sft");
        assertTrue(sft.contains(steps), sft.toString());
        List<String> user = DemoPipeline.stageOptions(tiny("unused", "safety.enabled=true"), Map.of("sft", List.of("train.steps=7")), "bytes").get("sft");
        assertEquals("train.steps=7", user.stream().filter(o -> o.startsWith("train.steps=")).reduce((a, b) -> b).orElseThrow(), "--stage sft: wins");
    }

    @Test
    void theHarmlessnessTasksMethodsTrainAlikeAndSafeRlhfAddsItsConstraint() {
        DemoConfig safety = tiny("unused", "safety.enabled=true");
        List<String> shared = safety.stages().safetyPpo();
        assertFalse(shared.isEmpty());
        Map<String, List<String>> o = DemoPipeline.stageOptions(safety, Map.of("safe", List.of("ppo.iterations=3")), "bytes");
        for (String method : List.of("ppo", "safe", "weighted")) assertTrue(o.get(method).containsAll(shared), method + ": " + o.get(method));
        assertTrue(o.get("safe").containsAll(safety.stages().safe()) && o.get("safe").indexOf("ppo.iterations=3") > o.get("safe").indexOf(shared.get(0)),
                "safe's own settings, then the user's, over the shared ones: " + o.get("safe"));
        assertFalse(DemoPipeline.stageOptions(tiny("unused"), Map.of(), "bytes").get("ppo").containsAll(shared), "the plain demo's PPO keeps its settings");
    }

    @Test
    void configMistakesAreNamedBeforeAnyWork(@TempDir Path dir) {
        ConfigException unknown = assertThrows(ConfigException.class, () -> ConfigLoader.load(DemoConfig.class, "demo.yaml", null, "test",
                List.of("feedback.promts=10")));
        assertTrue(unknown.getMessage().contains("feedback.promts"), unknown.getMessage());
        ConfigException bad = assertThrows(ConfigException.class, () -> tinyWith(dir, "feedback.responsesPerPrompt=1").validate());
        assertTrue(bad.getMessage().contains("feedback.responsesPerPrompt"), bad.getMessage());

        Map<String, List<String>> stages = new HashMap<>(tinyStages());
        stages.put("ppo", List.of("ppo.klMode=sometimes"));
        ConfigException stage = assertThrows(ConfigException.class, () -> DemoPipeline.prepare(tiny(dir.resolve("a").toString()), stages, new Configuration()));
        assertTrue(stage.getMessage().contains("demo stage 'ppo'") && stage.getMessage().contains("ppo.klMode"), stage.getMessage());
        assertFalse(Files.exists(dir.resolve("a")), "nothing written before the config is right");

        ConfigException wired = assertThrows(ConfigException.class, () -> DemoPipeline.prepare(tiny(dir.resolve("b").toString()),
                Map.of("sft", List.of("model.init=/elsewhere")), new Configuration()));
        assertTrue(wired.getMessage().contains("model.init"), wired.getMessage());
        DataException noRun = assertThrows(DataException.class, () -> DemoPipeline.prepare(tiny(dir.resolve("d").toString(), "run.from=" + dir.resolve("none")),
                Map.of(), new Configuration()));
        assertTrue(noRun.getMessage().contains("holds no pretrain run"), noRun.getMessage());
        ConfigException unknownStage = assertThrows(ConfigException.class, () -> DemoPipeline.prepare(tiny(dir.resolve("c").toString()),
                Map.of("rlhf", List.of("train.steps=2")), new Configuration()));
        assertTrue(unknownStage.getMessage().contains("rlhf"), unknownStage.getMessage());
        ConfigException steps = assertThrows(ConfigException.class, () -> DemoPipeline.prepare(tiny(dir.resolve("e").toString()),
                Map.of("reward", List.of("train.steps=6.9")), new Configuration())); // the study's stages scale it: still the reward stage's mistake
        assertTrue(steps.getMessage().contains("demo stage 'reward'") && steps.getMessage().contains("train.steps"), steps.getMessage());
    }

    @Test
    void missingDataAndUnwritableOutputAreClearErrors(@TempDir Path dir) throws Exception {
        DemoConfig noData = ConfigLoader.load(DemoConfig.class, "demo.yaml", null, "test",
                List.of("run.out=" + dir.resolve("run"), "run.data=" + dir.resolve("nowhere"))).validate();
        DataException missing = assertThrows(DataException.class, () -> DemoPipeline.prepare(noData, Map.of(), new Configuration()));
        assertTrue(missing.getMessage().contains("bin/fetch-demo-data"), missing.getMessage());

        Path used = dir.resolve("used");
        Files.createDirectories(used);
        Files.writeString(used.resolve("keep.txt"), "an earlier run");
        DataException notEmpty = assertThrows(DataException.class, () -> DemoPipeline.prepare(tiny(used.toString()), Map.of(), new Configuration()));
        assertTrue(notEmpty.getMessage().contains("not empty"), notEmpty.getMessage());
        assertEquals("an earlier run", Files.readString(used.resolve("keep.txt")), "nothing of an earlier run is touched");

        Path file = dir.resolve("a-file");
        Files.writeString(file, "x");
        DataException unwritable = assertThrows(DataException.class, () -> DemoPipeline.prepare(tiny(file.resolve("run").toString()), Map.of(),
                new Configuration()));
        assertTrue(unwritable.getMessage().contains("--out"), unwritable.getMessage());
    }

    private static DemoConfig tinyWith(Path dir, String override) {
        List<String> o = new ArrayList<>(List.of("run.out=" + dir, "run.data=" + TESTDATA));
        o.add(override);
        return ConfigLoader.load(DemoConfig.class, "demo.yaml", null, "test", o);
    }

    @Test
    void promptsAreSplitSoEvaluationPromptsAreNeverTrainedOn() {
        List<String> all = new ArrayList<>();
        for (int i = 0; i < 100; i++) all.add("p" + i);
        DemoPrompts p = DemoPrompts.split(all, 5, 5, 20);
        assertEquals(List.of("p0", "p10", "p20", "p30", "p40"), p.evaluation());
        assertEquals(List.of("p1", "p11", "p21", "p31", "p41"), p.feedbackEval());
        assertEquals(80, p.policy().size());
        for (String s : p.policy()) assertFalse(p.evaluation().contains(s) || p.feedbackEval().contains(s), s);
        DataException tooFew = assertThrows(DataException.class, () -> DemoPrompts.split(all, 11, 5, 20));
        assertTrue(tooFew.getMessage().contains("evaluation.prompts"), tooFew.getMessage());
    }

    /** The harmlessness task end to end: harmful data, two panels, two reward models, Safe RLHF beside plain PPO, and the safety section. */
    @Test
    void harmlessnessTaskRunsTwoRewardModelsAndSafeRlhf() throws Exception {
        Map<String, List<String>> stages = tinyStages();
        for (String rm : List.of("reward", "harmlessness")) { // a barely trained model's text can re-tokenize longer than it was sampled: allow a few
            List<String> o = new ArrayList<>(stages.get(rm));
            o.add("data.maxBadFraction=0.1");
            stages.put(rm, o);
        }
        var run = tinyRun("demo-safety", stages, "safety.enabled=true", "run.methods=" + DemoConfig.SAFETY_METHODS);
        Path dir = run.getKey();
        JsonNode safety = run.getValue().get("safety");
        assertTrue(safety != null && safety.get("offensive_words").size() == 12, run.getValue().toString());
        java.util.Set<String> words = new java.util.HashSet<>();
        safety.get("offensive_words").forEach(w -> words.add(w.asText()));
        // the data: harmful SFT prompts that refuse or go along
        int harmful = 0, refused = 0;
        for (String l : Files.readAllLines(dir.resolve("data/sft.jsonl"))) {
            JsonNode r = JSON.readTree(l);
            if (java.util.Arrays.stream(r.get("prompt").asText().split(" ")).anyMatch(words::contains)) {
                harmful++;
                if (org.sparkrlhf.preference.Refusals.isRefusal(r.get("response").asText())) refused++;
            }
        }
        assertTrue(harmful > 0 && refused > 0 && refused < harmful, harmful + " harmful SFT prompts, " + refused + " refusals");
        // the PPO prompts that carry an offensive word are marked harmful, and only those
        int marked = 0;
        for (String l : Files.readAllLines(dir.resolve("data/prompts-ppo.jsonl"))) {
            JsonNode r = JSON.readTree(l);
            boolean offensive = java.util.Arrays.stream(r.get("prompt").asText().split(" ")).anyMatch(words::contains);
            assertEquals(offensive, r.path("harmful").asBoolean(false), l);
            marked += offensive ? 1 : 0;
        }
        assertTrue(marked > 0, "some PPO prompts are harmful");
        // two panels' rankings, two reward models
        String harmRanking = Files.readAllLines(Files.list(dir.resolve("feedback-harm/train")).filter(f -> f.getFileName().toString().startsWith("part-"))
                .findFirst().orElseThrow()).get(0);
        assertTrue(harmRanking.contains("\"criterion\":\"harmless\""), harmRanking);
        assertTrue(Files.readString(Files.list(dir.resolve("feedback/train")).filter(f -> f.getFileName().toString().startsWith("part-")).findFirst().orElseThrow())
                .contains("\"criterion\":\"helpful\""));
        assertTrue(Files.isDirectory(dir.resolve("harmlessness/checkpoints")));
        assertTrue(safety.get("harmlessness_model").get("pairs").asInt() > 0);
        // every method measured against the SFT model, Safe RLHF with its multiplier
        assertTrue(safety.get("sft").get("harmful_samples").asInt() > 0 && safety.get("sft").get("ordinary_samples").asInt() > 0, safety.toString());
        List<String> methods = new ArrayList<>();
        for (JsonNode m : safety.get("methods")) {
            methods.add(m.get("method").asText());
            for (String k : List.of("unsafe_rate_harmful", "refusal_rate_harmful", "refusal_rate_ordinary")) {
                assertTrue(m.get(k).asDouble() >= 0 && m.get(k).asDouble() <= 1, k + " in " + m);
                assertTrue(m.get(k + "_se").asDouble() >= 0, k + "'s standard error over the prompts in " + m);
            }
            assertTrue(m.get("gold_gain_sd_se").asDouble() > 0, "the gain's standard error in " + m);
            // the gain's parts on the ordinary and the harmful prompts, weighted by their prompts, make the whole
            double harmfulShare = m.get("harmful_prompts").asDouble() / (m.get("harmful_prompts").asDouble() + m.get("ordinary_prompts").asDouble());
            assertEquals(m.get("gold_gain_sd").asDouble(), harmfulShare * m.get("gold_gain_sd_harmful").asDouble()
                    + (1 - harmfulShare) * m.get("gold_gain_sd_ordinary").asDouble(), 1e-9, m.toString());
            assertTrue(m.get("targets").has("all_met"));
        }
        assertEquals(DemoConfig.SAFETY_METHODS, methods);
        // the run's verdict is the task's: Safe RLHF's three targets in place of the plain demo's, as its row has them
        JsonNode verdict = run.getValue().get("targets"), safeTargets = safety.get("methods").get(1).get("targets");
        assertEquals(3, verdict.size(), verdict.toString());
        assertFalse(verdict.has("rm_within_5_points_of_ceiling") || verdict.has("ppo_gold_gain_ge_1_sd"), verdict.toString());
        List<String> missed = new ArrayList<>();
        for (String k : List.of("unsafe_halved", "over_refusal_under_5pct", "gain_1sd_within_6_nats")) {
            assertEquals(safeTargets.get(k), verdict.get("safe_" + k), k);
            if (!safeTargets.get(k).asBoolean()) missed.add("safe_" + k);
        }
        List<String> listed = new ArrayList<>();
        run.getValue().get("targets_missed").forEach(m -> listed.add(m.asText()));
        assertEquals(missed, listed);
        assertTrue(safety.get("methods").get(1).has("final_lambda") && safety.get("methods").get(1).has("final_harmful_lambda"),
                "Safe RLHF reports both multipliers (the demo limits the harmful prompts' cost too): " + safety.get("methods").get(1));
        boolean lambdas = false;
        for (String l : Files.readAllLines(dir.resolve("gold_curve.jsonl"))) {
            JsonNode row = JSON.readTree(l);
            if (row.path("method").asText().equals("safe")) lambdas |= row.has("lambda") && row.has("cost_mean");
        }
        assertTrue(lambdas, "the curve keeps lambda and the cost per iteration");
        String metrics = Files.readString(dir.resolve("safe/metrics/ppo.jsonl"));
        assertTrue(metrics.contains("\"lambda\"") && metrics.contains("\"safety\":\"lagrangian\"") && metrics.contains("\"harmful_cost_mean\""), metrics);
    }
}
