package org.sparkrlhf.annotate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkrlhf.checkpoint.GptWeights;
import org.sparkrlhf.engine.LocalSparkTest;
import org.sparkrlhf.jobs.BrownText;
import org.sparkrlhf.jobs.ResponseBatches;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.Head;
import org.sparkrlhf.sampling.SamplingConfig;
import org.sparkrlhf.tensor.DType;

/** Responses sampled from a policy by the generate job on Spark, in batches ahead of the annotators, and kept across restarts. */
class PolicyResponsesTest extends LocalSparkTest {
    @TempDir
    Path tmp;

    ResponseBatches batches(Path quarantine) throws Exception {
        Path ckpt = tmp.resolve("policy");
        Files.createDirectories(ckpt);
        try (OutputStream o = Files.newOutputStream(ckpt.resolve("weights.safetensors"))) {
            Gpt g = Gpt.init(new GptConfig(257, 96, 32, 2, 1, true, java.util.Set.of(Head.LM), 1e-5, 0.02), DType.FLOAT32, 3);
            GptWeights.write(o, g.config(), g.parameters());
        }
        Files.writeString(ckpt.resolve("config.json"), "{\"model\": {\"tokenizer\": \"bytes\"}}");
        List<String> lines = new ArrayList<>();
        for (String s : BrownText.sentences("ca01", "ca02", "ca03", "ca04", "ca05").stream().filter(t -> t.length() < 60).limit(40).toList())
            lines.add(RoundFixture.JSON.writeValueAsString(Map.of("prompt", s)));
        Files.write(tmp.resolve("prompts.jsonl"), lines, StandardCharsets.UTF_8);
        return ResponseBatches.open(spark, ckpt.toString(), null, tmp.resolve("prompts.jsonl").toString(), new SamplingConfig(1.0, 0, 1.0, 8, null, false),
                3, 1234, 100_000, 0.01, new org.apache.hadoop.fs.Path(quarantine.toUri()));
    }

    @Test
    void batchesAreSeededByPromptIndexAndEndWithoutTheEndToken() throws Exception {
        try (ResponseBatches b = batches(tmp.resolve("q"))) {
            List<List<String>> first = b.sample(2, 6), again = b.sample(4, 6);
            assertEquals(4, first.size());
            first.forEach(r -> assertEquals(3, r.size()));
            assertEquals(first.subList(2, 4), again, "a prompt's responses do not depend on the batch it is sampled in");
            first.forEach(r -> r.forEach(t -> assertFalse(t.contains("<|endoftext|>"), t)));
            assertTrue(first.get(0).stream().distinct().count() > 1, "K different samples: " + first.get(0));
        }
    }

    @Test
    void stockIsGeneratedAheadOfTheAnnotatorAndKeptAcrossRestarts() throws Exception {
        FileSystem fs = FileSystem.getLocal(new Configuration());
        Path out = tmp.resolve("feedback");
        org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(out.toUri());
        AnnotationSettings s = new AnnotationSettings("1", 3, 0, 2, 8, 6, 30, 65536, "overall", 1234, 12);
        List<String> seen = new ArrayList<>();
        try (ResponseBatches b = batches(tmp.resolve("q"));
             AnnotationService service = AnnotationService.open(fs, dir, s, new PolicyResponses(b), "Rank them.")) {
            service.tokens.newAnnotatorToken("alice");
            service.awaitItems(8, 60_000);
            for (int i = 0; i < 20; i++) {
                JsonNode it = service.next("alice", System.currentTimeMillis()).body();
                assertEquals("item", it.get("state").asText(), "the annotator never waits on the model (item " + i + ")");
                seen.add(it.get("item").asText());
                Map<String, String> form = Map.of("submission_id", "sub-" + i + "-abcdef", "item", it.get("item").asText(), "ranking", "0,1,2");
                assertEquals(200, service.submit("alice", form, System.currentTimeMillis()).status());
                Thread.sleep(150); // a quick annotator; a batch of 8 prompts takes well under a second here
            }
            assertTrue(service.itemIds().size() >= 24, "batches of 8 made ahead: " + service.itemIds().size());
        }
        int batchFiles;
        try (var files = Files.list(out.resolve("_items/1"))) {
            batchFiles = (int) files.filter(f -> f.getFileName().toString().startsWith("batch-")).count();
        }
        // a restart serves the stored batches (the same texts) and samples nothing until the stock runs low
        try (ResponseSource none = new ResponseSource() {
                 public long prompts() { return 40; }
                 public List<Item> batch(String round, long from, long to, int k) { throw new AssertionError("sampled again from " + from); }
                 public String describe() { return "nothing"; }
             };
             AnnotationService again = AnnotationService.open(fs, dir, s, none, "Rank them.")) {
            assertEquals(batchFiles * 8, again.itemIds().size());
            JsonNode it = again.next("alice", System.currentTimeMillis()).body();
            assertFalse(seen.contains(it.get("item").asText()));
        }
    }
}
