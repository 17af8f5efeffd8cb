package org.sparkrlhf.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.OutputStream;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparkrlhf.annotate.AnnotationServer;
import org.sparkrlhf.annotate.AnnotationService;
import org.sparkrlhf.annotate.AnnotationSettings;
import org.sparkrlhf.annotate.AnnotatorClient;
import org.sparkrlhf.annotate.FeedbackLog;
import org.sparkrlhf.annotate.Item;
import org.sparkrlhf.annotate.ResponseSource;
import org.sparkrlhf.engine.SparkDefaults;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code rlhf bench annotate}: N simulated annotators sign in to a local annotation server over
 * HTTP and rank as fast as they can for a bounded time (some submissions sent twice, as a double
 * click or a retry does): submissions per second, submit and item latencies, then every
 * acknowledged submission checked to be stored exactly once. Each judgement is synced before it is
 * acknowledged, and so is the lease that handed its item out: the limit is half the disk's sync rate
 * (measured in the same run on the same directory).
 */
@Command(name = "bench annotate", mixinStandardHelpOptions = true, versionProvider = org.sparkrlhf.cli.Version.class,
        description = "Load on the annotation app: N concurrent annotators over HTTP, submissions/s, p99 latency, exactly-once check.")
public final class AnnotateBenchmark implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--annotators", split = ",", defaultValue = "8,32", description = "Concurrent annotators, one run each (default: ${DEFAULT-VALUE}).")
    int[] annotators;
    @Option(names = "--seconds", defaultValue = "20", description = "How long each run submits (default: ${DEFAULT-VALUE}).")
    int seconds;
    @Option(names = "--resend", defaultValue = "0.05", description = "Share of submissions sent a second time (default: ${DEFAULT-VALUE}).")
    double resend;
    @Option(names = "--dir", description = "Where the feedback directories go (any Hadoop URI; default: a new local temporary directory).")
    String dir;
    @Option(names = "--json", description = "Print one JSON object (the last line) after the table.")
    boolean json;

    public static void main(String[] args) {
        SparkDefaults.exit(new CommandLine(new AnnotateBenchmark()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        Configuration conf = SparkDefaults.hadoopConfiguration();
        Path root = new Path(dir != null ? dir : java.nio.file.Files.createTempDirectory("rlhf-bench-annotate").toUri().toString());
        FileSystem fs = root.getFileSystem(conf);
        double syncs = syncsPerSecond(fs, new Path(root, "sync-probe"));
        System.out.printf("sync rate of %s: %.0f appends+syncs per second (one writer, 600-byte records); a judgement takes two (its lease, itself):"
                + " at most %.0f judgements/s%n", root, syncs, syncs / 2);
        System.out.printf("%-11s %9s %12s %9s %9s %9s %11s %10s %9s%n", "annotators", "submits", "submits/s", "of limit", "p50 ms", "p99 ms", "item p99 ms", "resent", "stored");
        ObjectNode o = JSON.createObjectNode();
        o.put("syncs_per_second", Math.round(syncs));
        var runs = o.putArray("runs");
        for (int n : annotators) {
            Result r = run(fs, new Path(root, "feedback-" + n), n);
            double rate = r.acked / r.seconds;
            System.out.printf("%-11d %9d %12.1f %8.0f%% %9.1f %9.1f %11.1f %10d %9s%n", n, r.acked, rate, 100 * rate / (syncs / 2), r.submitMs[0], r.submitMs[1], r.itemMs[1], r.resent,
                    r.exactlyOnce ? "once" : "WRONG");
            runs.addObject().put("annotators", n).put("acknowledged", r.acked).put("submits_per_second", Math.round(rate * 10) / 10.0)
                    .put("share_of_sync_limit", Math.round(rate / (syncs / 2) * 1000) / 1000.0).put("submit_p50_ms", r.submitMs[0]).put("submit_p99_ms", r.submitMs[1])
                    .put("submit_max_ms", r.submitMs[2]).put("item_p50_ms", r.itemMs[0]).put("item_p99_ms", r.itemMs[1]).put("resent", r.resent)
                    .put("stored", r.stored).put("exactly_once", r.exactlyOnce);
            if (!r.exactlyOnce) System.err.println("exactly-once check failed: " + r.problem);
        }
        if (json) System.out.println(o);
        return 0;
    }

    private record Result(long acked, double seconds, double[] submitMs, double[] itemMs, long resent, long stored, boolean exactlyOnce, String problem) {}

    private Result run(FileSystem fs, Path out, int n) throws Exception {
        // enough items that nobody runs out: ~2000 submissions/s at most, each a 4-response item
        AnnotationSettings s = new AnnotationSettings("bench", 4, 0.2, 2, 2048, 8192, 30, 65536, "overall", 1234, 12);
        try (AnnotationService service = AnnotationService.open(fs, out, s, new Synthetic(1_000_000), "Rank them.");
             AnnotationServer server = new AnnotationServer(service, "127.0.0.1", 0, false).start()) {
            service.awaitItems(8192, 60_000);
            String base = "http://127.0.0.1:" + server.address().getPort();
            List<String> tokens = new ArrayList<>();
            for (int i = 0; i < n; i++) tokens.add(service.newAnnotatorToken("sim" + i));
            Map<String, String> acked = new ConcurrentHashMap<>(); // submission id -> annotator
            List<Double> submit = Collections.synchronizedList(new ArrayList<>()), item = Collections.synchronizedList(new ArrayList<>());
            long[] resent = new long[1];
            ExecutorService pool = Executors.newFixedThreadPool(n);
            long t0 = System.nanoTime(), end = t0 + seconds * 1_000_000_000L;
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String who = "sim" + i, token = tokens.get(i);
                Random rnd = new Random(i);
                done.add(pool.submit(() -> {
                    AnnotatorClient c = new AnnotatorClient(base);
                    if (c.signIn(token) != 303) throw new IllegalStateException(who + " could not sign in");
                    while (System.nanoTime() < end) {
                        long a = System.nanoTime();
                        JsonNode it = c.item();
                        item.add((System.nanoTime() - a) / 1e6);
                        if (!it.path("state").asText().equals("item")) throw new IllegalStateException(who + " got no item: " + it);
                        List<Integer> order = new ArrayList<>(List.of(0, 1, 2, 3));
                        Collections.shuffle(order, rnd);
                        String id = UUID.randomUUID().toString(), ranking = order.toString().replaceAll("[\\[\\] ]", "");
                        long b = System.nanoTime();
                        HttpResponse<String> r = c.submit(id, it.get("item").asText(), ranking);
                        submit.add((System.nanoTime() - b) / 1e6);
                        if (r.statusCode() != 200) throw new IllegalStateException(who + ": " + r.statusCode() + " " + r.body());
                        acked.put(id, who);
                        if (rnd.nextDouble() < resend) {
                            HttpResponse<String> again = c.submit(id, it.get("item").asText(), ranking);
                            if (again.statusCode() != 200 || !again.body().contains("\"duplicate\":true"))
                                throw new IllegalStateException(who + ": a resent submission was not acknowledged as a duplicate: " + again.body());
                            synchronized (resent) {
                                resent[0]++;
                            }
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) f.get();
            double elapsed = (System.nanoTime() - t0) / 1e9;
            pool.shutdown();
            // exactly once: every acknowledged id stored by its annotator, nothing stored twice or unacknowledged
            List<JsonNode> stored = FeedbackLog.read(fs, out).records();
            Map<String, Integer> count = new HashMap<>();
            String problem = null;
            for (JsonNode rec : stored) {
                String id = rec.get("submission_id").asText();
                if (count.merge(id, 1, Integer::sum) > 1) problem = "stored twice: " + id;
                else if (!rec.get("annotator").asText().equals(acked.get(id))) problem = "stored but not acknowledged to its annotator: " + id;
            }
            for (String id : acked.keySet()) if (!count.containsKey(id)) problem = "acknowledged but not stored: " + id;
            return new Result(acked.size(), elapsed, percentiles(submit), percentiles(item), resent[0], stored.size(), problem == null, problem);
        }
    }

    private static double[] percentiles(List<Double> ms) {
        double[] a = ms.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        if (a.length == 0) return new double[]{Double.NaN, Double.NaN, Double.NaN};
        return new double[]{round(a[a.length / 2]), round(a[(int) Math.min(a.length - 1, Math.ceil(a.length * 0.99) - 1)]), round(a[a.length - 1])};
    }

    private static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }

    /** Appends with a sync after each, for two seconds, on the same file system: the rate one writer can make durable. */
    static double syncsPerSecond(FileSystem fs, Path file) throws Exception {
        FileSystem raw = FeedbackLog.syncing(fs); // as the log writes
        byte[] line = ("{\"x\":\"" + "a".repeat(590) + "\"}\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        long n = 0, t0 = System.nanoTime();
        try (var out = raw.create(file, true)) {
            while (System.nanoTime() - t0 < 2_000_000_000L) {
                out.write(line);
                out.hflush();
                out.hsync();
                n++;
            }
        }
        double rate = n / ((System.nanoTime() - t0) / 1e9);
        raw.delete(file, false);
        return rate;
    }

    /** Items made of seeded words, with responses of a chat model's typical length (a few hundred characters). */
    static final class Synthetic implements ResponseSource {
        private static final String[] WORDS = ("the of and to in is that for it as was with be by on not he this are or his from at which but have an they "
                + "you were her all she there would their we him been has when who will more no if out so said what up its about into than them can only").split(" ");
        private final long prompts;

        Synthetic(long prompts) {
            this.prompts = prompts;
        }

        @Override
        public long prompts() {
            return prompts;
        }

        @Override
        public List<Item> batch(String round, long from, long to, int k) {
            List<Item> out = new ArrayList<>();
            for (long p = from; p < to; p++) {
                Random r = new Random(p);
                List<String> rs = new ArrayList<>();
                for (int j = 0; j < k; j++) rs.add(words(r, 40 + r.nextInt(40)));
                out.add(new Item(Item.id(round, p), round, p, words(r, 12), rs));
            }
            return out;
        }

        private static String words(Random r, int n) {
            String[] w = new String[n];
            for (int i = 0; i < n; i++) w[i] = WORDS[r.nextInt(WORDS.length)];
            return String.join(" ", Arrays.asList(w));
        }

        @Override
        public String describe() {
            return "synthetic text";
        }
    }
}
