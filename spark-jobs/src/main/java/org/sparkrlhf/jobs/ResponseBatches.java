package org.sparkrlhf.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.sparkrlhf.data.ChatTemplate;
import org.sparkrlhf.data.Quarantine;
import org.sparkrlhf.data.RecordFiles;
import org.sparkrlhf.data.TextPairRecords;
import org.sparkrlhf.data.TextPairRecords.Pair;
import org.sparkrlhf.engine.ModelBytes;
import org.sparkrlhf.model.Head;
import org.sparkrlhf.sampling.SamplingConfig;
import org.sparkrlhf.tokenizer.Tokenizer;
import org.sparkrlhf.tokenizer.Tokenizers;

/**
 * The generate job in batches, for the annotation app: the prompts are read (and bad ones set
 * aside) once, the policy is broadcast once, and each call samples K responses for a range of
 * prompt indices on the executors. A response is seeded by its prompt's index and sample number,
 * so a batch sampled again (after a crash before it was stored) has the same texts.
 */
public final class ResponseBatches implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final JavaPairRDD<Pair, Long> prompts;
    private final List<String> promptTexts;
    private final Broadcast<ModelBytes[]> models;
    private final Generation.Job job;
    private final int partitions;
    private final String policy;
    private final Tokenizer tok;

    private ResponseBatches(JavaPairRDD<Pair, Long> prompts, List<String> promptTexts, Broadcast<ModelBytes[]> models, Generation.Job job, int partitions, String policy,
                            Tokenizer tok) {
        this.tok = tok;
        this.prompts = prompts;
        this.promptTexts = promptTexts;
        this.models = models;
        this.job = job;
        this.partitions = partitions;
        this.policy = policy;
    }

    /**
     * Reads {@code promptsUri} and loads {@code model} (checkpoint, weights file or hf:DIR); malformed
     * prompt records go to {@code quarantineDir}/quarantine/prompts.jsonl.
     */
    public static ResponseBatches open(SparkSession spark, String model, String tokenizer, String promptsUri, SamplingConfig sampling, int k, long seed,
                                       int maxChars, double maxBadFraction, Path quarantineDir) throws IOException {
        Configuration hadoop = spark.sparkContext().hadoopConfiguration();
        ModelSpec policy = ModelSpec.resolve(hadoop, "--policy", model, tokenizer);
        if (!policy.model().config().has(Head.LM)) throw new ModelFileException("--policy " + model + " has no language-model head: it cannot generate");
        Tokenizer tok = Tokenizers.create(policy.tokenizer());
        int maxPrompt = policy.model().config().contextLength() - sampling.maxNewTokens();
        if (maxPrompt < 1) throw new OptionException("--max-new-tokens " + sampling.maxNewTokens() + " leaves no room for a prompt in the model's context of "
                + policy.model().config().contextLength());
        String spec = policy.tokenizer();
        var parsed = RecordFiles.read(spark, promptsUri, "jsonl", "--prompts").map(src -> TextPairRecords.parse(src, maxChars, Tokenizers.create(spec), maxPrompt, false));
        FileSystem fs = quarantineDir.getFileSystem(hadoop);
        Quarantine.Result<Pair> good = Quarantine.apply(parsed, fs, quarantineDir, "prompts", maxBadFraction, "--max-bad-fraction");
        JavaPairRDD<Pair, Long> indexed = good.good().zipWithIndex().cache();
        List<String> texts = indexed.map(t -> t._1().prompt()).collect();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        SamplingConfig withEos = new SamplingConfig(sampling.temperature(), sampling.topK(), sampling.topP(), sampling.maxNewTokens(), new int[]{tok.eosToken()}, false);
        var models = jsc.broadcast(new ModelBytes[]{ModelBytes.of(policy.model()), null});
        Generation.Job job = new Generation.Job(models, spec, withEos, k, seed, tok.padToken(), null,
                Integer.parseInt(spark.sparkContext().getConf().get("spark.task.cpus", "1")), false);
        return new ResponseBatches(indexed, texts, models, job, jsc.defaultParallelism(), policy.weights(), tok);
    }

    public long prompts() {
        return promptTexts.size();
    }

    public String prompt(long index) {
        return promptTexts.get((int) index);
    }

    /** What the responses come from. */
    public String policy() {
        return policy;
    }

    /** K responses for each prompt index in [from, to), in index order. */
    public List<List<String>> sample(long from, long to) throws IOException {
        JavaPairRDD<Pair, Long> range = prompts.filter(t -> t._2() >= from && t._2() < to);
        List<String> lines = Generation.generate(range, partitions, job).collect();
        TreeMap<Long, List<String>> byPrompt = new TreeMap<>();
        for (String l : lines) {
            JsonNode n = JSON.readTree(l);
            byPrompt.computeIfAbsent(n.get("prompt_index").asLong(), x -> new ArrayList<>()).add(responseText(n, tok));
        }
        List<List<String>> out = new ArrayList<>();
        for (long i = from; i < to; i++) out.add(byPrompt.getOrDefault(i, List.of()));
        return out;
    }

    /** A generated response's text without its end token (the reward job adds its own), from a generate job's JSON line. */
    public static String responseText(JsonNode line, Tokenizer tok) {
        JsonNode ids = line.path("response_tokens");
        if (!ids.isArray()) return line.path("response").asText();
        int[] t = new int[ids.size()];
        for (int i = 0; i < t.length; i++) t[i] = ids.get(i).asInt();
        return ChatTemplate.responseText(tok, t);
    }

    @Override
    public void close() {
        models.unpersist(false);
        prompts.unpersist(false);
    }
}
