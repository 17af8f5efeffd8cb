package org.sparkrlhf.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkrlhf.config.ConfigLoader;
import org.sparkrlhf.data.PreferenceRecords;
import org.sparkrlhf.data.SourceLine;
import org.sparkrlhf.engine.LocalSparkTest;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.Head;
import org.sparkrlhf.preference.RankingAgreement;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tokenizer.Tokenizers;
import picocli.CommandLine;

/** AI feedback: a judge's labels are ranking records the reward job reads, ordered by its scores, measured against people's rankings. */
class LabelCommandTest extends LocalSparkTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void judgeRanksByItsScoresAndIsMeasuredAgainstPeople(@TempDir Path dir) throws Exception {
        GptConfig c = new GptConfig(257, 160, 32, 2, 1, true, java.util.Set.of(Head.REWARD), 1e-5, 0.02);
        Path judge = GenerateCommandTest.checkpoint(dir.resolve("judge"), Gpt.init(c, DType.FLOAT32, 5), "{\"mean\": 0.1, \"std\": 1.5}");
        List<String> s = BrownText.sentences("ca01", "ca02", "ca03", "ca04", "ca05").stream().filter(t -> t.length() < 60).toList();
        List<String> lines = new ArrayList<>();
        int humanPairs = 0;
        for (int i = 0; i + 4 < 40; i += 4) {
            List<String> rs = List.of(s.get(i + 1), s.get(i + 2), s.get(i + 3));
            lines.add(JSON.writeValueAsString(Map.of("prompt", s.get(i), "responses", rs, "ranking", List.of(2, 0, 1), "annotator", i % 8 == 0 ? "ann" : "ben",
                    "criterion", "helpful")));
            humanPairs += 3;
        }
        lines.add(JSON.writeValueAsString(Map.of("prompt", "Which is kinder?", "chosen", "Thank you.", "rejected", "Go away.")));
        humanPairs += 1;
        lines.add(JSON.writeValueAsString(Map.of("prompt", "Unlabelled.", "responses", List.of("One.", "Two.", "Three."))));
        lines.add("{\"prompt\": \"Bad.\", \"responses\": [\"only one\"]}");
        lines.add(JSON.writeValueAsString(Map.of("prompt", "Too long.", "responses", List.of("Short.", "x".repeat(150))))); // over 160 tokens with its prompt
        Files.write(dir.resolve("comparisons.jsonl"), lines, StandardCharsets.UTF_8);

        LabelCommand cmd = command(dir, judge);
        JsonNode report = cmd.run(spark);
        assertEquals(11, report.get("labelled").asInt(), report.toString()); // 9 rankings, a pair, an unlabelled comparison
        assertEquals(2, report.get("quarantined").asInt(), "a malformed record and one beyond the judge's context, set aside");
        String quarantined = Files.readString(dir.resolve("out/quarantine/records.jsonl"));
        assertTrue(quarantined.contains("at least 2 texts") && quarantined.contains("beyond the judge's context of 160"), quarantined);

        List<JsonNode> labels = new ArrayList<>();
        List<RankingAgreement.Ranking> pairsCheck = new ArrayList<>();
        long agreed = 0, pairs = 0;
        try (var files = Files.list(dir.resolve("out/labels"))) {
            for (Path f : files.filter(f -> f.getFileName().toString().startsWith("part-")).sorted().toList())
                for (String l : Files.readAllLines(f)) labels.add(JSON.readTree(l));
        }
        assertEquals(11, labels.size());
        var tok = Tokenizers.create("bytes");
        for (JsonNode l : labels) {
            assertEquals("ai:rm1", l.get("annotator").asText());
            double prev = Double.POSITIVE_INFINITY;
            for (JsonNode i : l.get("ranking")) { // best first, by the judge's own scores
                double v = l.get("judge_scores").get(i.asInt()).asDouble();
                assertTrue(v <= prev, l.toString());
                prev = v;
            }
            assertTrue(PreferenceRecords.parse(new SourceLine("labels", 1, l.toString()), 100_000, tok, 160).isOk(), "the reward job reads it: " + l);
            if (l.has("human_ranking")) {
                RankingAgreement.Tally t = RankingAgreement.between(ints(l.get("ranking")), ints(l.get("human_ranking")));
                pairs += t.pairs();
                agreed += t.agreed();
            }
        }
        JsonNode all = report.get("agreement").get("all");
        assertEquals(humanPairs, all.get("response_pairs").asLong(), "every person-ranked pair compared");
        assertEquals(pairs, all.get("response_pairs").asLong());
        assertEquals(agreed, all.get("agreed").asLong(), "agreement as the labels show it");
        assertEquals(10, all.get("comparisons").asInt());
        assertTrue(report.get("agreement").has("annotator:(none)"), "the pair had no annotator");
        assertTrue(report.get("agreement").has("annotator:ann") && report.get("agreement").has("criterion:helpful"), report.toString());

        // the reward job trains on the AI labels, and reports its accuracy for that annotator. The labels are copied under a fixed
        // name first: the held-out split goes by file name and line, and Spark names its part files at random
        Path labelFile = dir.resolve("ai-labels.jsonl");
        List<String> labelLines = new ArrayList<>();
        for (JsonNode l : labels) labelLines.add(l.toString());
        Files.write(labelFile, labelLines, StandardCharsets.UTF_8);
        RewardJob.train(spark, ConfigLoader.load(null, "test", List.of("run.dir=" + dir.resolve("rm").toUri(), "data.train=" + labelFile.toUri(),
                "data.evalFraction=0.4", "model.contextLength=160", "model.dModel=32", "model.nHeads=2", "model.nLayers=1", "train.steps=2",
                "train.globalBatch=4", "train.microBatch=2", "train.warmupSteps=1", "train.checkpointEvery=2")), null);
        JsonNode eval = JSON.readTree(dir.resolve("rm/eval/reward-step-2.json").toFile());
        assertTrue(eval.get("accuracy_by_annotator").toString().contains("ai:rm1"), eval.toString());

        assertThrows(IllegalArgumentException.class, () -> command(dir, judge).run(spark), "an existing --out is refused");
    }

    @Test
    void constitutionAppliedByALanguageModelRanksByThePrinciplesLikelihoodGain(@TempDir Path dir) throws Exception {
        GptConfig c = new GptConfig(257, 256, 32, 2, 1, true, java.util.Set.of(Head.LM), 1e-5, 0.02);
        Gpt lm = Gpt.init(c, DType.FLOAT32, 6);
        Path scorer = GenerateCommandTest.checkpoint(dir.resolve("lm"), lm, null);
        Files.writeString(dir.resolve("constitution.txt"), "# be kind\nChoose the kinder reply.\n\nChoose the more truthful reply.\n");
        Files.write(dir.resolve("comparisons.jsonl"), List.of(
                JSON.writeValueAsString(Map.of("prompt", "Was the vote close?", "responses", List.of("Yes, by two votes.", "No idea, go away.", "It was."),
                        "ranking", List.of(0, 2, 1), "annotator", "ann")),
                JSON.writeValueAsString(Map.of("prompt", "Thank the jury.", "chosen", "Thank you all.", "rejected", "Whatever."))), StandardCharsets.UTF_8);
        LabelCommand cmd = new LabelCommand();
        new CommandLine(cmd).parseArgs("--constitution", dir.resolve("constitution.txt").toString(), "--scorer", scorer.toString(), "--name", "kind",
                "--records", dir.resolve("comparisons.jsonl").toString(), "--out", dir.resolve("out").toString(), "--partitions", "1");
        JsonNode report = cmd.run(spark);
        assertEquals(2, report.get("principles").asInt());
        assertEquals(4, report.get("agreement").get("all").get("response_pairs").asInt());
        JsonNode first = null;
        try (var files = Files.list(dir.resolve("out/labels"))) {
            for (Path f : files.filter(f -> f.getFileName().toString().startsWith("part-")).sorted().toList())
                for (String l : Files.readAllLines(f)) if (first == null) first = JSON.readTree(l);
        }
        assertEquals("ai:kind", first.get("annotator").asText());
        // the job's scores are ConstitutionScore's for the chat-templated prompt with and without each principle
        var tok = Tokenizers.create("bytes");
        List<int[]> ruled = new ArrayList<>(), responses = new ArrayList<>();
        for (String p : List.of("Choose the kinder reply.", "Choose the more truthful reply."))
            ruled.add(tok.encode(org.sparkrlhf.data.ChatTemplate.prompt(List.of(new org.sparkrlhf.data.ChatTemplate.Turn("system", p),
                    new org.sparkrlhf.data.ChatTemplate.Turn("user", "Was the vote close?")))));
        for (JsonNode r : first.get("responses")) {
            int[] ids = tok.encode(r.asText()), e = java.util.Arrays.copyOf(ids, ids.length + 1);
            e[ids.length] = tok.eosToken();
            responses.add(e);
        }
        double[] expected = org.sparkrlhf.preference.ConstitutionScore.score(lm, org.sparkrlhf.data.ChatTemplate.userPrompt("Was the vote close?", tok), ruled,
                responses);
        for (int i = 0; i < 3; i++) assertEquals(expected[i], first.get("judge_scores").get(i).asDouble(), 1e-4);
        double best = first.get("judge_scores").get(first.get("ranking").get(0).asInt()).asDouble();
        for (JsonNode v : first.get("judge_scores")) assertTrue(v.asDouble() <= best);

        LabelCommand noScorer = new LabelCommand();
        new CommandLine(noScorer).parseArgs("--constitution", dir.resolve("constitution.txt").toString(), "--name", "kind",
                "--records", dir.resolve("comparisons.jsonl").toString(), "--out", dir.resolve("out2").toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> noScorer.run(spark));
        assertTrue(e.getMessage().contains("--constitution needs --scorer"), e.getMessage());
        // a constitution that is missing, or holds only comments, is an option mistake that names the file
        org.apache.hadoop.fs.FileSystem fs = org.apache.hadoop.fs.FileSystem.getLocal(new org.apache.hadoop.conf.Configuration());
        OptionException missing = assertThrows(OptionException.class,
                () -> LabelCommand.principles(fs, new org.apache.hadoop.fs.Path(dir.resolve("none.txt").toUri())));
        assertTrue(missing.getMessage().startsWith("--constitution ") && missing.getMessage().endsWith("none.txt does not exist"), missing.getMessage());
        Files.writeString(dir.resolve("comments.txt"), "# only a comment\n\n");
        OptionException empty = assertThrows(OptionException.class,
                () -> LabelCommand.principles(fs, new org.apache.hadoop.fs.Path(dir.resolve("comments.txt").toUri())));
        assertTrue(empty.getMessage().contains("holds no principles (one per line)"), empty.getMessage());
    }

    private static LabelCommand command(Path dir, Path judge) {
        LabelCommand cmd = new LabelCommand();
        new CommandLine(cmd).parseArgs("--judge", judge.toString(), "--name", "rm1", "--records", dir.resolve("comparisons.jsonl").toString(),
                "--out", dir.resolve("out").toString(), "--partitions", "2", "--max-bad-fraction", "0.2");
        return cmd;
    }

    private static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asInt();
        return out;
    }
}
