package org.sparkrlhf.annotate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkrlhf.config.ConfigLoader;
import org.sparkrlhf.engine.LocalSparkTest;
import org.sparkrlhf.jobs.RewardJob;

/** The app over real HTTP (no browser): sign-in, every refusal the issue names, restarts, overlap and agreement, and the reward job on what it stored. */
class AnnotationServiceTest extends LocalSparkTest {
    @TempDir
    Path tmp;

    /** A running round: service, server, tokens. */
    record Round(AnnotationService service, AnnotationServer server, String admin, Map<String, String> tokens, String base) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            server.close();
            service.close();
        }
    }

    static Round open(Path gen, Path out, AnnotationSettings s, int port, String... annotators) throws Exception {
        FileSystem fs = FileSystem.getLocal(new Configuration());
        AnnotationService service = AnnotationService.open(fs, new org.apache.hadoop.fs.Path(out.toUri()), s,
                new GeneratedResponses(fs, new org.apache.hadoop.fs.Path(gen.toUri()), s.responses()), AnnotateCommand.builtInGuidelines());
        String admin = service.tokens.hasAdmin() ? null : service.tokens.newAdminToken();
        Map<String, String> tokens = new LinkedHashMap<>();
        for (String a : annotators) if (!service.tokens.hasAnnotator(a)) tokens.put(a, service.tokens.newAnnotatorToken(a));
        service.awaitItems(1000, 10_000);
        AnnotationServer server = new AnnotationServer(service, "127.0.0.1", port, false).start();
        return new Round(service, server, admin, tokens, "http://127.0.0.1:" + server.address().getPort());
    }

    @Test
    void signInSubmitAndEveryRefusal() throws Exception {
        Path gen = RoundFixture.generated(tmp.resolve("gen"), 12, 4, null), out = tmp.resolve("feedback");
        try (Round r = open(gen, out, AnnotationSettings.defaults("1").withOverlap(0, 2), 0, "alice", "bob")) {
            String access = Files.readString(out.resolve(AccessTokens.FILE));
            for (String t : r.tokens().values()) assertFalse(access.contains(t), "tokens are stored hashed only");
            assertTrue(access.contains(AccessTokens.hash(r.tokens().get("alice"))));

            AnnotatorClient stranger = new AnnotatorClient(r.base());
            assertEquals(401, stranger.signIn("not-a-token"));
            assertEquals(401, stranger.get("/api/item").statusCode(), "no session, no items");
            String page = stranger.get("/signin").body();
            assertEquals(403, stranger.post("/signin", Map.of("token", r.tokens().get("alice"))).statusCode(), "sign-in form without its CSRF token");
            assertTrue(page.contains("name=\"csrf\""));

            AnnotatorClient alice = new AnnotatorClient(r.base()), bob = new AnnotatorClient(r.base());
            assertEquals(303, alice.signIn(r.tokens().get("alice")));
            assertEquals(303, bob.signIn(r.tokens().get("bob")));
            JsonNode a = alice.item(), b = bob.item();
            assertEquals(a.get("item"), alice.item().get("item"), "a reload shows the same item");
            assertNotEquals(a.get("item"), b.get("item"), "with no overlap, two annotators get different items");
            assertEquals(4, a.get("responses").size());
            HttpResponse<String> resp = alice.get("/annotate");
            assertTrue(resp.headers().firstValue("Content-Security-Policy").orElse("").contains("script-src 'self'"));

            String item = a.get("item").asText();
            Map<String, String> form = new LinkedHashMap<>(Map.of("submission_id", "alice-000001", "item", item, "ranking", "3,1,0,2"));
            assertError(403, "CSRF", alice.post("/api/submit", form));
            form.put("csrf", "forged-" + alice.csrf());
            assertError(403, "CSRF", alice.post("/api/submit", form));
            assertError(400, "not a permutation", alice.submit("alice-000001", item, "3,1,1,2"));
            assertError(400, "not a permutation", alice.submit("alice-000001", item, "3,1,0"));
            assertError(400, "not a permutation", alice.submit("alice-000001", item, "3,1,0,<script>"));
            assertError(403, "not given to you", alice.submit("alice-000001", b.get("item").asText(), "0,1,2,3"));
            assertError(404, "no item", alice.submit("alice-000001", "1/9999", "0,1,2,3"));
            assertError(400, "submission_id", alice.submit("x", item, "0,1,2,3"));
            form.put("csrf", alice.csrf());
            form.put("admin", "1");
            assertError(400, "unknown form field 'admin'", alice.post("/api/submit", form));
            form.remove("admin");
            form.put("label.helpful.2", "excellent");
            assertError(400, "label.helpful.2 must be good, bad or empty", alice.post("/api/submit", form));
            form.put("label.helpful.2", "good");
            form.put("flag.7", "unsafe");
            assertError(400, "only 0..3 were shown", alice.post("/api/submit", form));
            form.put("flag.1", "unsafe");
            form.remove("flag.7");
            form.put("big", "x".repeat(70_000));
            assertError(413, "over the limit", alice.post("/api/submit", form));
            form.remove("big");
            assertEquals(0, r.service().storedThisStart(), "nothing refused was stored");

            assertEquals(200, alice.post("/api/submit", form).statusCode());
            JsonNode again = RoundFixture.JSON.readTree(alice.post("/api/submit", form).body());
            assertTrue(again.get("saved").asBoolean() && again.get("duplicate").asBoolean(), "a resent submission is acknowledged: " + again);
            assertError(409, "another annotator", bob.submit("alice-000001", b.get("item").asText(), "0,1,2,3"));
            assertEquals(1, r.service().storedThisStart());
            JsonNode stored = rankings(out).get(0);
            assertEquals("alice", stored.get("annotator").asText());
            assertEquals("overall", stored.get("criterion").asText());
            assertEquals("[3,1,0,2]", stored.get("ranking").toString());
            assertEquals("good", stored.get("labels").get("helpful").get(2).asText());
            assertEquals("unsafe", stored.get("flags").get(0).get("flag").asText());
            assertNotEquals(item, alice.item().get("item").asText(), "after a judgement, the next item");

            assertEquals(403, alice.get("/api/admin").statusCode(), "an annotator cannot open the admin report");
            AnnotatorClient admin = new AnnotatorClient(r.base());
            assertEquals(303, admin.signIn(r.admin()));
            assertEquals(403, admin.get("/api/item").statusCode(), "the admin is not an annotator");
            JsonNode report = RoundFixture.JSON.readTree(admin.get("/api/admin").body());
            assertEquals(1, report.get("throughput").get("judgements").asInt());
            assertEquals("alice", report.get("rounds").get(0).get("annotators").get(0).get("annotator").asText());
            assertEquals("unsafe", report.get("flagged").get(0).get("flag").asText());
            assertEquals(1, admin.get("/admin/export").body().lines().count());
        }
    }

    @Test
    void restartKeepsLeasesSessionsAndJudgements() throws Exception {
        Path gen = RoundFixture.generated(tmp.resolve("gen"), 6, 3, null), out = tmp.resolve("feedback");
        AnnotationSettings s = AnnotationSettings.defaults("1").withResponses(3).withOverlap(0, 2);
        AnnotatorClient alice;
        String held, judged;
        int port;
        try (Round r = open(gen, out, s, 0, "alice")) {
            port = r.server().address().getPort();
            alice = new AnnotatorClient(r.base());
            alice.signIn(r.tokens().get("alice"));
            judged = alice.item().get("item").asText();
            assertEquals(200, alice.submit("sub-0000001", judged, "0,1,2").statusCode());
            held = alice.item().get("item").asText();
        }
        try (Round r = open(gen, out, s, port)) {
            assertTrue(r.tokens().isEmpty() && r.admin() == null, "tokens are kept across restarts");
            assertEquals(held, alice.item().get("item").asText(), "the item held before the restart, with the same session cookie");
            assertEquals(200, alice.submit("sub-0000001", judged, "0,1,2").statusCode(), "a resend after the restart is acknowledged");
            assertEquals(200, alice.submit("sub-0000002", held, "2,1,0").statusCode());
            Set<String> seen = new HashSet<>(List.of(judged, held));
            for (JsonNode it = alice.item(); it.get("state").asText().equals("item"); it = alice.item()) {
                assertTrue(seen.add(it.get("item").asText()), "never the same item twice");
                assertEquals(200, alice.submit("sub-" + seen.size() + "-xxxxxx", it.get("item").asText(), "1,0,2").statusCode());
            }
            assertEquals("finished", alice.item().get("state").asText());
            assertEquals(6, seen.size());
        }
        assertEquals(6, rankings(out).size(), "six judgements, none twice");
    }

    @Test
    void overlappingItemsGiveAgreementAndTheRewardJobReadsTheDirectory() throws Exception {
        Path gen = RoundFixture.generated(tmp.resolve("gen"), 16, 3, null), out = tmp.resolve("feedback");
        try (Round r = open(gen, out, AnnotationSettings.defaults("1").withResponses(3).withOverlap(1.0, 2), 0, "alice", "bob")) {
            AnnotatorClient alice = new AnnotatorClient(r.base()), bob = new AnnotatorClient(r.base());
            alice.signIn(r.tokens().get("alice"));
            bob.signIn(r.tokens().get("bob"));
            int n = 0;
            for (AnnotatorClient c : List.of(alice, bob)) {
                for (JsonNode it = c.item(); it.get("state").asText().equals("item"); it = c.item()) {
                    // both prefer shorter responses; bob swaps his last two on every other item
                    List<Integer> order = byLength(it);
                    if (c == bob && n++ % 2 == 0) order.add(order.remove(1));
                    String ranking = String.join(",", order.stream().map(String::valueOf).toList());
                    assertEquals(200, c.submit(java.util.UUID.randomUUID().toString(), it.get("item").asText(), ranking).statusCode());
                }
            }
            assertEquals(32, rankings(out).size(), "every item by both");
            AnnotatorClient admin = new AnnotatorClient(r.base());
            admin.signIn(r.admin());
            JsonNode agreement = RoundFixture.JSON.readTree(admin.get("/api/admin").body()).get("agreement");
            // 16 shared items x 3 response pairs; bob moved one response on 8 of them: 2 of 3 pairs kept
            assertEquals("(all)", agreement.get(0).get("annotator").asText());
            assertEquals(48, agreement.get(0).get("response_pairs").asInt());
            assertEquals(40.0 / 48, agreement.get(0).get("agreement").asDouble(), 1e-9);
            assertEquals(40.0 / 48, agreement.get(1).get("agreement").asDouble(), 1e-9);
        }
        // the reward job takes the feedback directory as it is: the app's hidden state is not read as data
        RewardJob.train(spark, ConfigLoader.load(null, "test", List.of("run.dir=" + tmp.resolve("rm").toUri(), "data.train=" + out.toUri(),
                "data.evalFraction=0.5", "model.contextLength=256", "model.dModel=32", "model.nHeads=2", "model.nLayers=1", "train.steps=4",
                "train.globalBatch=4", "train.microBatch=2", "train.warmupSteps=1", "train.checkpointEvery=4")), null);
        JsonNode eval = RoundFixture.JSON.readTree(tmp.resolve("rm/eval/reward-step-4.json").toFile());
        assertEquals(Set.of("alice", "bob"), names(eval.get("accuracy_by_annotator")), eval.toString());
        assertEquals(Set.of("overall"), names(eval.get("accuracy_by_criterion")));
        assertFalse(Files.exists(tmp.resolve("rm/quarantine/train.jsonl")), "no record of the directory was malformed");
    }

    @Test
    void onHdfsEveryPartOfTheRoundSurvivesARestart() throws Exception {
        org.apache.hadoop.hdfs.MiniDFSCluster hdfs = org.sparkrlhf.engine.MiniHdfs.start();
        try {
            FileSystem fs = hdfs.getFileSystem(), local = FileSystem.getLocal(new Configuration());
            org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path("/feedback");
            Path gen = RoundFixture.generated(tmp.resolve("gen"), 4, 3, null);
            AnnotationSettings s = AnnotationSettings.defaults("1").withResponses(3).withOverlap(0, 2);
            String token, item;
            AnnotatorClient alice;
            int port;
            try (AnnotationService service = AnnotationService.open(fs, dir, s, new GeneratedResponses(local, new org.apache.hadoop.fs.Path(gen.toUri()), 3), "Rank.");
                 AnnotationServer server = new AnnotationServer(service, "127.0.0.1", 0, false).start()) {
                token = service.tokens.newAnnotatorToken("alice");
                service.awaitItems(4, 10_000);
                port = server.address().getPort();
                alice = new AnnotatorClient("http://127.0.0.1:" + port);
                alice.signIn(token);
                item = alice.item().get("item").asText();
                assertEquals(200, alice.submit("hdfs-0000001", item, "2,1,0").statusCode());
                // acknowledged means on the datanode: a second reader sees it while the writer is open
                assertEquals(1, FeedbackLog.read(hdfs.getFileSystem(), dir).records().size());
            }
            try (AnnotationService service = AnnotationService.open(fs, dir, s, new GeneratedResponses(local, new org.apache.hadoop.fs.Path(gen.toUri()), 3), "Rank.");
                 AnnotationServer server = new AnnotationServer(service, "127.0.0.1", port, false).start()) {
                assertEquals(4, service.itemIds().size(), "items read back from HDFS");
                assertTrue(service.tokens.check(token) != null, "tokens read back from HDFS");
                JsonNode again = RoundFixture.JSON.readTree(alice.submit("hdfs-0000001", item, "2,1,0").body());
                assertTrue(again.get("duplicate").asBoolean(), again.toString());
                assertNotEquals(item, alice.item().get("item").asText());
            }
            assertEquals(1, FeedbackLog.read(fs, dir).records().size());
        } finally {
            hdfs.shutdown();
        }
    }

    private static Set<String> names(JsonNode o) {
        Set<String> s = new HashSet<>();
        o.fieldNames().forEachRemaining(s::add);
        if (o.isArray()) o.forEach(e -> s.add(e.path("annotator").asText(e.path("criterion").asText(e.path("name").asText()))));
        return s;
    }

    private static List<Integer> byLength(JsonNode item) {
        List<JsonNode> rs = new ArrayList<>();
        item.get("responses").forEach(rs::add);
        rs.sort(java.util.Comparator.comparingInt((JsonNode x) -> x.get("text").asText().length()).thenComparingInt(x -> x.get("index").asInt()));
        List<Integer> out = new ArrayList<>();
        rs.forEach(x -> out.add(x.get("index").asInt()));
        return out;
    }

    static List<JsonNode> rankings(Path out) throws Exception {
        return FeedbackLog.read(FileSystem.getLocal(new Configuration()), new org.apache.hadoop.fs.Path(out.toUri())).records();
    }

    static void assertError(int status, String says, HttpResponse<String> r) {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.body().contains(says), "the refusal says why (" + says + "): " + r.body());
    }
}
