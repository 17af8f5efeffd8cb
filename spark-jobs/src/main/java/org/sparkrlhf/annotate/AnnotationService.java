package org.sparkrlhf.annotate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparkrlhf.sampling.SampleSeed;
import org.sparkrlhf.sampling.SeededPermutation;

/**
 * The annotation round behind the web pages: hands items out, stores judgements and skips (each
 * synced before it is acknowledged, each client submission id once), and reports to the admin.
 * Everything it knows is in the feedback directory, so a restart continues where it stopped:
 * rankings at the top (what the reward job reads), and, hidden from it, {@code _leases/} (who was
 * given what, when), {@code _skips/}, {@code _items/} and {@code _access.json}.
 */
public final class AnnotationService implements Closeable {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Test hook: halt the JVM after this many new judgements are stored, before the page is told (0: never). */
    private static final int HALT_AFTER_STORED = Integer.getInteger("rlhf.annotate.haltAfterStored", 0);

    /** A reply to a request: its HTTP status and JSON body. */
    record Reply(int status, ObjectNode body) {}

    final AnnotationSettings settings;
    final AccessTokens tokens;
    final Sessions sessions;
    final String guidelines;
    private final FileSystem fs;
    private final Path dir;
    private final FeedbackLog rankings, skips, leases;
    private final Assignment assignment;
    private final Map<String, Item> items = new ConcurrentHashMap<>();
    private final Map<String, String> submitter = new ConcurrentHashMap<>(); // submission id -> annotator
    private final AdminReport report = new AdminReport();
    private final ResponseStock stock;
    private final Thread stockThread;
    private final Object assignLock = new Object(), submitLock = new Object();
    private int storedHere;

    private AnnotationService(FileSystem fs, Path dir, AnnotationSettings settings, ResponseSource source, String guidelines) throws IOException {
        this.fs = fs;
        this.dir = dir;
        this.settings = settings;
        this.guidelines = guidelines;
        this.tokens = AccessTokens.open(fs, dir);
        this.sessions = new Sessions(tokens.sessionSecret(), settings.sessionHours());
        this.assignment = new Assignment(settings);
        ItemStore store = new ItemStore(fs, dir, settings.round());
        List<Item> stored = store.load();
        addItems(stored);
        // who had, judged and skipped what, replayed from the stored records as each log opens
        this.leases = FeedbackLog.open(fs, new Path(dir, "_leases"), this::replayLease);
        this.rankings = FeedbackLog.open(fs, dir, this::replayJudgement);
        this.skips = FeedbackLog.open(fs, new Path(dir, "_skips"), this::replaySkip);
        long next = stored.isEmpty() ? 0 : stored.get(stored.size() - 1).promptIndex() + 1;
        this.stock = new ResponseStock(source, store, settings, next, this::addItems, assignment::untouched);
        this.stockThread = new Thread(stock, "annotate-responses");
        stockThread.setDaemon(true);
    }

    /** Opens (or continues) the round in {@code dir} and starts generating ahead. */
    public static AnnotationService open(FileSystem fs, Path dir, AnnotationSettings settings, ResponseSource source, String guidelines) throws IOException {
        AnnotationService s = new AnnotationService(fs, dir, settings, source, guidelines);
        s.stockThread.start();
        return s;
    }

    private void addItems(List<Item> batch) {
        for (Item it : batch) items.put(it.id(), it);
        assignment.addItems(batch);
    }

    private void replayLease(JsonNode l) {
        if (l.path("round").asText().equals(settings.round()))
            assignment.leased(l.path("annotator").asText(), l.path("item").asText(), java.time.Instant.parse(l.path("time").asText()).toEpochMilli());
    }

    private void replayJudgement(JsonNode r) {
        submitter.put(r.get(FeedbackLog.ID).asText(), r.path("annotator").asText());
        if (r.path("round").asText().equals(settings.round())) assignment.judged(r.path("annotator").asText(), r.path("item").asText());
        report.judged(r);
    }

    private void replaySkip(JsonNode r) {
        submitter.put(r.get(FeedbackLog.ID).asText(), r.path("annotator").asText());
        if (r.path("round").asText().equals(settings.round())) assignment.skipped(r.path("annotator").asText(), r.path("item").asText());
        report.skipped(r);
    }

    /** The order {@code annotator} sees {@code item}'s responses in: seeded, so the same on every reload. */
    int[] shownOrder(Item item, String annotator) {
        return SeededPermutation.of(item.responses().size(), SampleSeed.of(settings.seed(), item.id().hashCode(), annotator.hashCode()));
    }

    /** The annotator's current item (kept across reloads), or a note that they must wait or are done. */
    Reply next(String annotator, long now) throws IOException {
        Assignment.Pick pick;
        synchronized (assignLock) {
            pick = assignment.next(annotator, now);
            if (pick != null && pick.isNew()) {
                ObjectNode l = JSON.createObjectNode();
                l.put(FeedbackLog.ID, "lease:" + annotator + ":" + pick.item());
                l.put("round", settings.round());
                l.put("item", pick.item());
                l.put("annotator", annotator);
                l.put("time", java.time.Instant.ofEpochMilli(now).toString());
                leases.append(l); // stored before shown: after a restart the item is still theirs
                assignment.leased(annotator, pick.item(), now);
            }
        }
        stock.wake();
        ObjectNode o = JSON.createObjectNode();
        o.set("progress", progress(annotator));
        if (pick == null) {
            boolean more = stock.more();
            o.put("state", more ? "waiting" : "finished");
            o.put("message", more ? "New responses are being generated; this page looks again every few seconds."
                    : "Nothing is left for you in this round. Thank you!");
            return new Reply(200, o);
        }
        Item item = items.get(pick.item());
        o.put("state", "item");
        o.put("item", item.id());
        o.put("round", item.round());
        o.put("prompt", item.prompt());
        ArrayNode rs = o.putArray("responses");
        for (int i : shownOrder(item, annotator)) rs.addObject().put("index", i).put("text", item.responses().get(i));
        return new Reply(200, o);
    }

    private ObjectNode progress(String annotator) {
        Assignment.Progress p = assignment.progress(annotator);
        return JSON.createObjectNode().put("judged", p.judged()).put("skipped", p.skipped()).put("left_in_round", p.left());
    }

    /** Stores a ranking (synced before this returns) or says why not; a resent submission is acknowledged, not stored again. */
    Reply submit(String annotator, Map<String, String> form, long now) throws IOException {
        try {
            String id = Judgement.submissionId(form);
            synchronized (submitLock) {
                Reply again = resent(id, annotator);
                if (again != null) return again;
                Item item = yours(annotator, form.get("item"));
                long at = assignment.leasedAt(annotator, item.id());
                ObjectNode record = Judgement.record(form, item, annotator, settings.criterion(), shownOrder(item, annotator), (now - at) / 1000.0, now);
                rankings.append(record);
                submitter.put(id, annotator);
                assignment.judged(annotator, item.id());
                report.judged(record);
                storedHere++;
                if (storedHere == HALT_AFTER_STORED) Runtime.getRuntime().halt(77); // the fault tests' kill: stored, not acknowledged
            }
            return saved(false, annotator);
        } catch (Rejected r) {
            return error(r.status, r.getMessage());
        }
    }

    /** Records that {@code annotator} passes over their item; it goes to someone else. */
    Reply skip(String annotator, Map<String, String> form, long now) throws IOException {
        try {
            String id = Judgement.submissionId(form);
            for (String key : form.keySet())
                if (!List.of("csrf", FeedbackLog.ID, "item", "reason").contains(key)) throw new Rejected(400, "unknown form field '" + key + "' (a skip sends csrf, submission_id, item, reason)");
            String reason = form.getOrDefault("reason", "");
            if (reason.length() > 500) throw new Rejected(400, "reason is " + reason.length() + " characters; at most 500");
            synchronized (submitLock) {
                Reply again = resent(id, annotator);
                if (again != null) return again;
                Item item = yours(annotator, form.get("item"));
                ObjectNode s = JSON.createObjectNode();
                s.put(FeedbackLog.ID, id);
                s.put("round", item.round());
                s.put("item", item.id());
                s.put("annotator", annotator);
                s.put("reason", reason);
                s.put("time", java.time.Instant.ofEpochMilli(now).toString());
                skips.append(s);
                submitter.put(id, annotator);
                assignment.skipped(annotator, item.id());
                report.skipped(s);
            }
            return saved(false, annotator);
        } catch (Rejected r) {
            return error(r.status, r.getMessage());
        }
    }

    private Reply resent(String id, String annotator) throws Rejected {
        String who = submitter.get(id);
        if (who == null) return null;
        if (!who.equals(annotator)) throw new Rejected(409, "submission id " + id + " was used by another annotator; reload the page for a new one");
        return saved(true, annotator);
    }

    private Item yours(String annotator, String itemId) throws Rejected {
        Item item = itemId == null ? null : items.get(itemId);
        if (item == null) throw new Rejected(404, "no item '" + (itemId == null ? "" : itemId) + "' in round " + settings.round() + "; reload the page");
        switch (assignment.mayFinish(annotator, item.id())) {
            case NOT_YOURS -> throw new Rejected(403, "item " + item.id() + " was not given to you; you can judge only your own items (reload the page)");
            case FINISHED -> throw new Rejected(409, "you have already judged or skipped item " + item.id() + "; reload the page for your next one");
            default -> { }
        }
        return item;
    }

    private Reply saved(boolean duplicate, String annotator) {
        ObjectNode o = JSON.createObjectNode();
        o.put("saved", true);
        o.put("duplicate", duplicate);
        o.set("progress", progress(annotator));
        return new Reply(200, o);
    }

    static Reply error(int status, String message) {
        return new Reply(status, JsonNodeFactory.instance.objectNode().put("error", message));
    }

    /** Progress, throughput, agreement and flags, for the admin page. */
    ObjectNode adminReport(long now) {
        ObjectNode o = report.toJson(now);
        o.put("round", settings.round());
        Assignment.Totals t = assignment.totals();
        o.putObject("current_round").put("items_generated", t.items()).put("judgements_needed", t.needed()).put("judgements_made", t.judgements())
                .put("items_complete", t.complete()).put("items_overlapping", t.overlapping()).put("overlap_share", settings.overlapShare())
                .put("overlap_annotators", settings.overlapAnnotators()).put("responses_per_item", settings.responses());
        ResponseStock.Status s = stock.status();
        ObjectNode g = o.putObject("generation");
        g.put("source", s.source());
        g.put("prompts", s.prompts());
        g.put("generated", s.generated());
        g.put("batches_this_start", s.batches());
        g.put("generating", s.generating());
        if (!Double.isNaN(s.lastBatchSeconds())) g.put("last_batch_seconds", s.lastBatchSeconds());
        if (s.error() != null) g.put("error", s.error());
        ArrayNode who = o.putArray("annotators_registered");
        tokens.annotators().forEach(who::add);
        return o;
    }

    /** Every stored ranking, as the JSON lines the reward job reads. */
    void export(OutputStream out) throws IOException {
        for (JsonNode r : FeedbackLog.read(fs, dir).records()) out.write((JSON.writeValueAsString(r) + "\n").getBytes(StandardCharsets.UTF_8));
    }

    /** Rankings stored since this start (for tests and the load benchmark). */
    int storedThisStart() {
        synchronized (submitLock) {
            return storedHere;
        }
    }

    /** Makes (or replaces) an annotator's sign-in token and returns it (the only time it is seen in clear). */
    public String newAnnotatorToken(String name) throws IOException {
        return tokens.newAnnotatorToken(name);
    }

    /** Waits until at least {@code n} items are ready (a test's or benchmark's start). */
    public void awaitItems(int n, long timeoutMillis) throws InterruptedException {
        long end = System.currentTimeMillis() + timeoutMillis;
        while (items.size() < Math.min(n, stock.status().prompts()) && System.currentTimeMillis() < end) Thread.sleep(20);
    }

    @Override
    public void close() throws IOException {
        stock.stop();
        try {
            stockThread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        rankings.close();
        skips.close();
        leases.close();
    }

    List<String> itemIds() {
        return new ArrayList<>(items.keySet());
    }
}
