package org.sparkrlhf.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.SparkSession;
import org.sparkrlhf.cli.Version;
import org.sparkrlhf.data.Quarantine;
import org.sparkrlhf.data.RecordFiles;
import org.sparkrlhf.data.TextPairRecords;
import org.sparkrlhf.data.TextPairRecords.Pair;
import org.sparkrlhf.demo.StageBar;
import org.sparkrlhf.engine.ModelBytes;
import org.sparkrlhf.engine.SparkDefaults;
import org.sparkrlhf.model.Head;
import org.sparkrlhf.sampling.SamplingConfig;
import org.sparkrlhf.tokenizer.Tokenizer;
import org.sparkrlhf.tokenizer.Tokenizers;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code rlhf generate}: a Spark job that samples responses to a prompt data set with a policy
 * (checkpoint, weights file or {@code hf:DIR}), with each token's log-probability and, given a
 * reward model, raw and normalized scores. Writes {@code OUT/responses} (JSON lines or Parquet, in
 * prompt order), {@code OUT/generate.json} (what made them) and {@code OUT/quarantine/prompts.jsonl}
 * for records it could not use.
 */
@Command(name = "generate", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Sample responses to a prompt data set with a model, as a Spark job (JSON lines or Parquet out).")
public final class GenerateCommand implements Callable<Integer> {
    @picocli.CommandLine.Mixin
    RecordJobOptions io = new RecordJobOptions();

    @Option(names = "--model", required = true, description = "The policy: a checkpoint directory, a weights file, or hf:DIR.")
    String model;
    @Option(names = "--prompts", required = true, description = "Prompt records ({\"prompt\": ...} or {\"messages\": [...]}), a file or directory, any Hadoop URI.")
    String prompts;
    @Option(names = "--reward", description = "A reward model (a reward-job checkpoint directory or hf:DIR) to score each response.")
    String reward;
    @Option(names = "--samples", defaultValue = "1", description = "Responses per prompt (default: ${DEFAULT-VALUE}).")
    int samples;
    @Option(names = "--max-new-tokens", defaultValue = "64", description = "Default: ${DEFAULT-VALUE}.")
    int maxNewTokens;
    @Option(names = "--temperature", defaultValue = "1.0", description = "0 is greedy (default: ${DEFAULT-VALUE}).")
    double temperature;
    @Option(names = "--top-k", defaultValue = "0", description = "Keep the k most likely tokens, 0 for all (default: ${DEFAULT-VALUE}).")
    int topK;
    @Option(names = "--top-p", defaultValue = "1.0", description = "Keep the smallest set reaching this probability (default: ${DEFAULT-VALUE}).")
    double topP;
    @Option(names = "--keep-best", arity = "0..1", description = "With --reward: write only each prompt's best-scoring sample (best-of-n; the output is SFT data).")
    boolean keepBest;
    @Option(names = "--seed", defaultValue = "1234", description = "Seeds every response with its prompt's index (default: ${DEFAULT-VALUE}).")
    long seed;

    public static void main(String[] args) {
        SparkDefaults.exit(new CommandLine(new GenerateCommand()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        return io.execute("spark-rlhf generate", this::check,
                spark -> String.format("done: %,d responses in %s/responses (%s)", run(spark), io.out, io.outFormat));
    }

    void check() {
        if (samples < 1) throw new OptionException("--samples must be >= 1, got " + samples);
        if (keepBest && reward == null) throw new OptionException("--keep-best picks by the reward model's score: give --reward");
        io.check();
        sampling(null);
    }

    /** The sampling settings from the options; a value out of range is an option error. */
    private SamplingConfig sampling(int[] eos) {
        try {
            return new SamplingConfig(temperature, topK, topP, maxNewTokens, eos, false);
        } catch (IllegalArgumentException e) {
            throw new OptionException(e.getMessage() + " (set by --temperature, --top-k, --top-p and --max-new-tokens)");
        }
    }

    /** Runs the job on {@code spark}; returns the number of responses written. */
    long run(SparkSession spark) throws IOException {
        check();
        Configuration hadoop = spark.sparkContext().hadoopConfiguration();
        Path outDir = io.newOutDir(hadoop);
        FileSystem fs = outDir.getFileSystem(hadoop);
        ModelSpec policy = ModelSpec.resolve(hadoop, "--model", model, io.tokenizer);
        if (!policy.model().config().has(Head.LM)) throw new ModelFileException("--model " + model + " has no language-model head: it cannot generate");
        ModelSpec scorer = reward == null ? null : ModelSpec.resolve(hadoop, "--reward", reward, null);
        if (scorer != null && !scorer.model().config().has(Head.REWARD))
            throw new ModelFileException("--reward " + reward + " is not a reward model (no reward head)");
        Tokenizer tok = Tokenizers.create(policy.tokenizer());
        if (tok.vocabSize() > policy.model().config().vocabSize())
            throw new ModelFileException("tokenizer " + policy.tokenizer() + " has " + tok.vocabSize() + " tokens but the model only " + policy.model().config().vocabSize());
        int maxPrompt = policy.model().config().contextLength() - maxNewTokens;
        if (maxPrompt < 1) throw new OptionException("--max-new-tokens " + maxNewTokens + " leaves no room for a prompt in the model's context of "
                + policy.model().config().contextLength());
        String spec = policy.tokenizer();
        int chars = io.maxChars;
        JavaRDD<org.sparkrlhf.data.Parsed<Pair>> parsed = RecordFiles.read(spark, prompts, io.format, "--prompts")
                .map(src -> TextPairRecords.parse(src, chars, Tokenizers.create(spec), maxPrompt, false));
        Quarantine.Result<Pair> good = Quarantine.apply(parsed, fs, outDir, "prompts", io.maxBadFraction, "--max-bad-fraction");
        JavaPairRDD<Pair, Long> indexed = good.good().zipWithIndex();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        int parts = io.partitions > 0 ? io.partitions : jsc.defaultParallelism();
        SamplingConfig sampling = sampling(new int[]{tok.eosToken()});
        var models = jsc.broadcast(new ModelBytes[]{ModelBytes.of(policy.model()), scorer == null ? null : ModelBytes.of(scorer.model())});
        long t0 = System.nanoTime(), count;
        try (StageBar bar = StageBar.tasks(spark.sparkContext())) {
            Generation.Job job = new Generation.Job(models, spec, sampling, samples, seed, tok.padToken(), scorer == null ? null : scorer.norm(),
                    Integer.parseInt(spark.sparkContext().getConf().get("spark.task.cpus", "1")), keepBest);
            JavaRDD<String> lines = Generation.generate(indexed, parts, job).cache();
            count = write(spark, lines, new Path(outDir, "responses").toString(), io.outFormat);
            lines.unpersist(false);
        } finally {
            models.unpersist(false);
        }
        ObjectNode p = JSON.createObjectNode();
        p.put("command", "generate");
        p.put("model", policy.weights());
        p.put("tokenizer", spec);
        if (scorer != null) p.put("reward", scorer.weights());
        p.put("prompts", prompts);
        p.put("prompt_records", good.counts().total());
        p.put("quarantined", good.counts().bad());
        p.put("samples_per_prompt", samples);
        p.put("keep_best", keepBest);
        p.put("responses", count);
        p.put("max_new_tokens", maxNewTokens);
        p.put("temperature", temperature);
        p.put("top_k", topK);
        p.put("top_p", topP);
        p.put("seed", seed);
        p.put("partitions", parts);
        p.put("seconds", (System.nanoTime() - t0) / 1e9);
        provenance(fs, new Path(outDir, "generate.json"), p);
        return count;
    }

    /** JSON lines as text part files, or Parquet with the schema they imply; returns the row count. */
    static long write(SparkSession spark, JavaRDD<String> lines, String dir, String outFormat) {
        var ds = spark.createDataset(lines.rdd(), Encoders.STRING());
        if (outFormat.equals("jsonl")) ds.write().text(dir);
        else spark.read().json(ds).write().parquet(dir);
        return lines.count();
    }

    static void provenance(FileSystem fs, Path file, ObjectNode p) throws IOException {
        try (OutputStream o = fs.create(file, false)) {
            o.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(p));
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
}
