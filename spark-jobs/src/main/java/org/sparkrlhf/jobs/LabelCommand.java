package org.sparkrlhf.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.sparkrlhf.cli.Version;
import org.sparkrlhf.data.ChatTemplate;
import org.sparkrlhf.data.ComparisonRecords;
import org.sparkrlhf.data.ComparisonRecords.Comparison;
import org.sparkrlhf.data.Parsed;
import org.sparkrlhf.data.Quarantine;
import org.sparkrlhf.data.SourceLine;
import org.sparkrlhf.data.RecordFiles;
import org.sparkrlhf.demo.StageBar;
import org.sparkrlhf.engine.ModelBytes;
import org.sparkrlhf.engine.SparkDefaults;
import org.sparkrlhf.engine.TaskSetup;
import org.sparkrlhf.model.Head;
import org.sparkrlhf.preference.RankingAgreement;
import org.sparkrlhf.rl.RewardFunction;
import org.sparkrlhf.tokenizer.Tokenizer;
import org.sparkrlhf.tokenizer.Tokenizers;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import scala.Tuple2;

/**
 * {@code rlhf label}: AI feedback. A judge ranks the responses of each comparison, as a Spark job:
 * a trained reward model, or a written constitution (principles, one per line) applied by a
 * language model ({@link ConstitutionScore}: how much more likely each principle makes a response); the labels are ranking records marked {@code annotator: ai:NAME},
 * which the reward job reads like people's. Where the input carries people's rankings, the labels
 * are measured against them (the share of response pairs ordered alike, per annotator and per
 * criterion), so a team knows how far the judge can stand in for its annotators before it does.
 * Writes {@code OUT/labels}, {@code OUT/label.json} and {@code OUT/quarantine/records.jsonl}.
 */
@Command(name = "label", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Label comparisons with an AI judge (a reward model): ranking records marked annotator ai:NAME, and their agreement with people's.")
public final class LabelCommand implements Callable<Integer> {
    @picocli.CommandLine.Mixin
    RecordJobOptions io = new RecordJobOptions();

    @Option(names = "--judge", description = "The judge: a reward-job checkpoint directory or hf:DIR.")
    String judge;
    @Option(names = "--constitution", description = "Instead of --judge: a text file of principles, one per line ('#' starts a comment), applied by --scorer.")
    String constitution;
    @Option(names = "--scorer", description = "With --constitution: the language model that applies it (a checkpoint directory, weights file or hf:DIR).")
    String scorer;
    @Option(names = "--name", required = true, description = "The judge's name in the labels (annotator ai:NAME).")
    String name;
    @Option(names = "--records", required = true, description = "Comparisons: {prompt, responses[, ranking]} or {prompt, chosen, rejected} records, any Hadoop URI.")
    String records;
    @Option(names = "--criterion", description = "The criterion written into every label (default: each record's own).")
    String criterion;

    public static void main(String[] args) {
        SparkDefaults.exit(new CommandLine(new LabelCommand()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        return io.execute("spark-rlhf label", this::check, spark -> {
            ObjectNode r = run(spark);
            return String.format("done: %,d comparisons labelled by ai:%s in %s/labels; agreement with people's rankings: %s", r.get("labelled").asLong(), name,
                    io.out, r.path("agreement").has("all") ? String.format("%.3f over %,d response pairs", r.get("agreement").get("all").get("agreement").asDouble(),
                            r.get("agreement").get("all").get("response_pairs").asLong()) : "none in the input");
        });
    }

    /**
     * The label job from a program (the demo's AI-feedback study): {@code judge} (a reward-model
     * checkpoint) ranks the comparisons at {@code records}; labels under {@code out/labels}.
     * Returns the label.json report.
     */
    public static ObjectNode byRewardModel(SparkSession spark, String judge, String name, String records, String out, String tokenizer, double maxBadFraction)
            throws IOException {
        LabelCommand c = new LabelCommand();
        new CommandLine(c).parseArgs("--judge", judge, "--name", name, "--records", records, "--out", out, "--tokenizer", tokenizer,
                "--max-bad-fraction", Double.toString(maxBadFraction));
        return c.run(spark);
    }

    void check() {
        if ((judge == null) == (constitution == null))
            throw new OptionException("give --judge (a reward model), or --constitution FILE with --scorer (a language model)");
        if (constitution != null && scorer == null) throw new OptionException("--constitution needs --scorer: the language model that applies it");
        if (!name.matches("[A-Za-z0-9._-]{1,40}")) throw new OptionException("--name must be 1-40 letters, digits, '.', '_' or '-', got '" + name + "'");
        io.check();
    }

    /** What a task needs: the judge, the label's name and criterion (the records come tokenized). */
    private record Job(org.apache.spark.broadcast.Broadcast<ModelBytes> judge, String annotator, String criterion, int threads,
                       List<String> principles) implements Serializable {}

    /** Runs the job; returns the report it writes to label.json. */
    ObjectNode run(SparkSession spark) throws IOException {
        check();
        Configuration hadoop = spark.sparkContext().hadoopConfiguration();
        Path outDir = io.newOutDir(hadoop);
        FileSystem fs = outDir.getFileSystem(hadoop);
        ModelSpec spec = ModelSpec.resolve(hadoop, judge != null ? "--judge" : "--scorer", judge != null ? judge : scorer, io.tokenizer);
        List<String> principles = constitution == null ? null : principles(fs, new Path(constitution));
        if (judge != null && !spec.model().config().has(Head.REWARD)) throw new ModelFileException("--judge " + judge + " is not a reward model (no reward head)");
        if (scorer != null && !spec.model().config().has(Head.LM)) throw new ModelFileException("--scorer " + scorer + " is not a language model (no LM head)");
        int chars = io.maxChars, context = spec.model().config().contextLength();
        String tokSpec = spec.tokenizer();
        JavaRDD<Parsed<Encoded>> parsed = RecordFiles.read(spark, records, io.format, "--records").mapPartitions(it -> {
            Tokenizer tok = Tokenizers.create(tokSpec);
            List<Parsed<Encoded>> out = new ArrayList<>();
            it.forEachRemaining(src -> out.add(encode(ComparisonRecords.parse(src, chars), src, tok, context, principles)));
            return out.iterator();
        });
        Quarantine.Result<Encoded> good = Quarantine.apply(parsed, fs, outDir, "records", io.maxBadFraction, "--max-bad-fraction");
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        int parts = io.partitions > 0 ? io.partitions : jsc.defaultParallelism();
        var model = jsc.broadcast(ModelBytes.of(spec.model()));
        Job job = new Job(model, "ai:" + name, criterion, Integer.parseInt(spark.sparkContext().getConf().get("spark.task.cpus", "1")), principles);
        long t0 = System.nanoTime(), count;
        ObjectNode report = JSON.createObjectNode();
        try (StageBar bar = StageBar.tasks(spark.sparkContext())) {
            JavaRDD<Tuple2<Long, String>> labelled = good.good().zipWithIndex().repartition(parts).mapPartitions(it -> label(it, job)).cache();
            JavaRDD<String> lines = labelled.mapToPair(t -> t).sortByKey(true, parts).values();
            count = GenerateCommand.write(spark, lines, new Path(outDir, "labels").toString(), io.outFormat);
            Map<String, long[]> agree = labelled.map(t -> tally(t._2())).fold(new HashMap<>(), LabelCommand::add);
            ObjectNode a = report.putObject("agreement");
            for (Map.Entry<String, long[]> e : new TreeMap<>(agree).entrySet()) {
                long[] v = e.getValue();
                a.putObject(e.getKey()).put("response_pairs", v[0]).put("agreed", v[1]).put("agreement", v[0] == 0 ? Double.NaN : (double) v[1] / v[0])
                        .put("comparisons", v[2]).put("top_choice_agreed", v[3]);
            }
            labelled.unpersist(false);
        } finally {
            model.unpersist(false);
        }
        report.put("command", "label");
        report.put("judge", judge != null ? "reward model " + spec.weights() : "constitution " + constitution + " applied by " + spec.weights());
        if (principles != null) report.put("principles", principles.size());
        report.put("annotator", "ai:" + name);
        report.put("records", records);
        report.put("record_count", good.counts().total());
        report.put("quarantined", good.counts().bad());
        report.put("labelled", count);
        report.put("seconds", (System.nanoTime() - t0) / 1e9);
        GenerateCommand.provenance(fs, new Path(outDir, "label.json"), report);
        return report;
    }

    /** A comparison with its tokens: the prompt, the prompt after each principle (a constitution; else null), each response with its end token. */
    private record Encoded(Comparison comparison, int[] prompt, List<int[]> ruled, List<int[]> responses) implements Serializable {}

    /**
     * A parsed comparison tokenized once for the judge, or quarantined when a response with its
     * prompt (after the longest principle, for a constitution) and end token is beyond its context.
     */
    private static Parsed<Encoded> encode(Parsed<Comparison> p, SourceLine src, Tokenizer tok, int context, List<String> principles) {
        if (!p.isOk()) return Parsed.bad(p.reason(), src);
        Comparison c = p.value();
        int[] prompt = ChatTemplate.userPrompt(c.prompt(), tok);
        int lead = prompt.length;
        List<int[]> ruled = null;
        if (principles != null) {
            ruled = new ArrayList<>();
            for (String rule : principles) {
                int[] ids = tok.encode(ChatTemplate.prompt(List.of(new ChatTemplate.Turn("system", rule), new ChatTemplate.Turn("user", c.prompt()))));
                ruled.add(ids);
                lead = Math.max(lead, ids.length);
            }
        }
        List<int[]> responses = new ArrayList<>();
        for (int i = 0; i < c.responses().size(); i++) {
            int[] ids = tok.encode(c.responses().get(i)), withEos = java.util.Arrays.copyOf(ids, ids.length + 1);
            withEos[ids.length] = tok.eosToken(); // as the reward job trained the judge
            if (lead + withEos.length > context)
                return Parsed.bad("response " + i + " gives " + (lead + withEos.length) + " tokens with its " + (principles != null ? "longest principle and " : "")
                        + "prompt, beyond the " + (principles != null ? "scorer's" : "judge's") + " context of " + context
                        + "; shorten it or use a model with a longer context", src);
            responses.add(withEos);
        }
        return Parsed.ok(new Encoded(c, prompt, ruled, responses), src);
    }

    private static java.util.Iterator<Tuple2<Long, String>> label(java.util.Iterator<Tuple2<Encoded, Long>> it, Job job) throws IOException {
        TaskSetup.begin(job.threads());
        org.sparkrlhf.model.Gpt model = job.judge().value().model();
        RewardFunction judge = job.principles() != null ? null : RewardFunction.model(model, 16);
        List<Tuple2<Long, String>> out = new ArrayList<>();
        while (it.hasNext()) {
            Tuple2<Encoded, Long> t = it.next();
            Encoded e = t._1();
            Comparison c = e.comparison();
            double[] s = judge != null ? judge.score(java.util.Collections.nCopies(e.responses().size(), e.prompt()), e.responses())
                    : org.sparkrlhf.preference.ConstitutionScore.score(model, e.prompt(), e.ruled(), e.responses()); // each principle as the system message
            Integer[] order = new Integer[s.length];
            for (int i = 0; i < order.length; i++) order[i] = i;
            java.util.Arrays.sort(order, (a, b) -> s[a] != s[b] ? Double.compare(s[b], s[a]) : Integer.compare(a, b)); // ties keep the given order
            ObjectNode o = JSON.createObjectNode();
            o.put("prompt", c.prompt());
            ArrayNode rs = o.putArray("responses");
            c.responses().forEach(rs::add);
            ArrayNode rk = o.putArray("ranking");
            for (int i : order) rk.add(i);
            o.put("annotator", job.annotator());
            o.put("criterion", job.criterion() != null ? job.criterion() : c.criterion());
            ArrayNode sc = o.putArray("judge_scores");
            for (double v : s) sc.add(v);
            if (c.ranking() != null) { // what it is measured against
                ArrayNode hr = o.putArray("human_ranking");
                for (int i : c.ranking()) hr.add(i);
                o.put("human_annotator", c.annotator());
                o.put("human_criterion", c.criterion());
            }
            out.add(new Tuple2<>(t._2(), JSON.writeValueAsString(o)));
        }
        return out.iterator();
    }

    /** The principles of a constitution file: its non-empty lines, '#' comments left out. */
    static List<String> principles(FileSystem fs, Path file) throws IOException {
        List<String> out = new ArrayList<>();
        for (String l : OptionFiles.read(fs, file, "--constitution").split("\n")) {
            String t = l.strip();
            if (!t.isEmpty() && !t.startsWith("#")) out.add(t);
        }
        if (out.isEmpty()) throw new OptionException("--constitution " + file + " holds no principles (one per line)");
        return out;
    }

    /** A label's agreement with the person's ranking in its record: {pairs, agreed, comparisons, top choice agreed}, overall and per annotator and criterion. */
    private static Map<String, long[]> tally(String line) throws IOException {
        var n = JSON.readTree(line);
        Map<String, long[]> m = new HashMap<>();
        if (!n.has("human_ranking")) return m;
        int[] ai = ints(n.get("ranking")), human = ints(n.get("human_ranking"));
        RankingAgreement.Tally t = RankingAgreement.between(ai, human);
        long[] v = {t.pairs(), t.agreed(), 1, ai[0] == human[0] ? 1 : 0};
        m.put("all", v.clone());
        m.put("annotator:" + n.path("human_annotator").asText("").replaceFirst("^$", "(none)"), v.clone());
        m.put("criterion:" + n.path("human_criterion").asText("").replaceFirst("^$", "(none)"), v.clone());
        return m;
    }

    private static int[] ints(com.fasterxml.jackson.databind.JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asInt();
        return out;
    }

    private static Map<String, long[]> add(Map<String, long[]> a, Map<String, long[]> b) {
        Map<String, long[]> out = new HashMap<>(a);
        b.forEach((k, v) -> out.merge(k, v.clone(), (x, y) -> {
            long[] s = x.clone();
            for (int i = 0; i < s.length; i++) s[i] += y[i];
            return s;
        }));
        return out;
    }

    private static final ObjectMapper JSON = new ObjectMapper();
}
