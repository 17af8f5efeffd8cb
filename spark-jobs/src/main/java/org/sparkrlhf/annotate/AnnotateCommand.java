package org.sparkrlhf.annotate;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.sparkrlhf.cli.Version;
import org.sparkrlhf.engine.SparkDefaults;
import org.sparkrlhf.jobs.OptionException;
import org.sparkrlhf.jobs.OptionFiles;
import org.sparkrlhf.jobs.ResponseBatches;
import org.sparkrlhf.jobs.UserErrors;
import org.sparkrlhf.sampling.SamplingConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code rlhf annotate}: serves a round of human ranking. Responses to {@code --prompts} are sampled
 * from {@code --policy} in batches ahead of the annotators (or taken from an earlier generate run),
 * annotators sign in with personal tokens and rank them in the browser, and every judgement is
 * synced into {@code --out} before the page says "saved". The reward job reads {@code --out} as it is.
 */
@Command(name = "annotate", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Serve a round of human ranking of a policy's responses; judgements go to a feedback directory the reward job reads.")
public final class AnnotateCommand implements Callable<Integer> {
    @Option(names = "--out", required = true, description = "The feedback directory (any Hadoop URI that can sync: HDFS or local files); a restart continues its round.")
    String out;
    @Option(names = "--prompts", description = "Prompt records to sample responses for ({\"prompt\": ...} or {\"messages\": [...]}), with --policy.")
    String prompts;
    @Option(names = "--policy", description = "The model whose responses are ranked: a checkpoint directory, a weights file, or hf:DIR.")
    String policy;
    @Option(names = "--from-generated", description = "Instead of --prompts/--policy: the output of 'rlhf generate --samples K' (sampled on a cluster beforehand).")
    String generated;
    @Option(names = "--responses", defaultValue = "4", description = "K, responses ranked per prompt (default: ${DEFAULT-VALUE}).")
    int responses;
    @Option(names = "--round", defaultValue = "1", description = "The round's name; the same name continues a round (default: ${DEFAULT-VALUE}).")
    String round;
    @Option(names = "--port", defaultValue = "8080", description = "Default: ${DEFAULT-VALUE}.")
    int port;
    @Option(names = "--bind", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}, this machine only; put a TLS proxy in front before opening it wider).")
    String bind;
    @Option(names = "--annotators", split = ",", description = "Annotator names; a token is made and printed, once, for each name that has none.")
    List<String> annotators = new ArrayList<>();
    @Option(names = "--new-admin-token", description = "Replace the admin token (one is made on the first start).")
    boolean newAdminToken;
    @Option(names = "--overlap", defaultValue = "0.2", description = "Share of items ranked by several annotators, for agreement (default: ${DEFAULT-VALUE}).")
    double overlap;
    @Option(names = "--overlap-annotators", defaultValue = "2", description = "Annotators per overlapping item (default: ${DEFAULT-VALUE}).")
    int overlapAnnotators;
    @Option(names = "--batch", defaultValue = "32", description = "Prompts sampled per batch (default: ${DEFAULT-VALUE}).")
    int batch;
    @Option(names = "--ahead", defaultValue = "48", description = "Items kept ready ahead of the annotators (default: ${DEFAULT-VALUE}).")
    int ahead;
    @Option(names = "--lease-minutes", defaultValue = "30", description = "How long an item given out is kept from others (default: ${DEFAULT-VALUE}).")
    int leaseMinutes;
    @Option(names = "--criterion", defaultValue = "overall", description = "What the ranking judges, written as each record's criterion (default: ${DEFAULT-VALUE}).")
    String criterion;
    @Option(names = "--guidelines", description = "A text file of guidelines shown above every item (default: built-in guidelines).")
    String guidelines;
    @Option(names = "--max-body", defaultValue = "65536", description = "Largest request accepted, bytes (default: ${DEFAULT-VALUE}).")
    int maxBody;
    @Option(names = "--secure-cookies", description = "Mark cookies Secure: use when a TLS proxy serves the app over https.")
    boolean secureCookies;
    @Option(names = "--temperature", defaultValue = "1.0", description = "Sampling temperature (default: ${DEFAULT-VALUE}: varied responses).")
    double temperature;
    @Option(names = "--top-p", defaultValue = "1.0", description = "Default: ${DEFAULT-VALUE}.")
    double topP;
    @Option(names = "--max-new-tokens", defaultValue = "64", description = "Default: ${DEFAULT-VALUE}.")
    int maxNewTokens;
    @Option(names = "--tokenizer", description = "The tokenizer spec (default: the model's own).")
    String tokenizer;
    @Option(names = "--seed", defaultValue = "1234", description = "Seeds the responses, the overlapping items and each annotator's order (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--max-bad-fraction", defaultValue = "0.01", description = "Stop if more prompt records than this share are malformed (default: ${DEFAULT-VALUE}).")
    double maxBadFraction;
    @Option(names = "--master", description = "Spark master for sampling (default: spark-submit's, else local[*]).")
    String master;
    @Option(names = "--verbose", description = "Print the stack trace with an error.")
    boolean verbose;

    public static void main(String[] args) {
        SparkDefaults.exit(new CommandLine(new AnnotateCommand()).execute(args));
    }

    /** The round's settings from the options; a bad value is the user's mistake (the message names the option). */
    AnnotationSettings settings() {
        try {
            AnnotationSettings d = AnnotationSettings.defaults(round);
            return new AnnotationSettings(round, responses, overlap, overlapAnnotators, batch, ahead, leaseMinutes, maxBody, criterion, seed, d.sessionHours());
        } catch (IllegalArgumentException e) {
            throw new OptionException(e.getMessage());
        }
    }

    void check() {
        if ((generated == null) == (policy == null))
            throw new OptionException("give either --policy (with --prompts) to sample responses now, or --from-generated DIR (a generate job's output)");
        if (policy != null && prompts == null) throw new OptionException("--policy needs --prompts: the prompts to sample responses for");
        if (port < 0 || port > 65535) throw new OptionException("--port must be 0..65535, got " + port);
        settings();
        sampling();
    }

    /** How --policy's responses are sampled; a bad value is the user's mistake (the message names the options). */
    SamplingConfig sampling() {
        try {
            return new SamplingConfig(temperature, 0, topP, maxNewTokens, null, false);
        } catch (IllegalArgumentException e) {
            throw new OptionException(e.getMessage() + " (set by --temperature, --top-p and --max-new-tokens)");
        }
    }

    @Override
    public Integer call() throws Exception {
        SparkSession spark = null;
        try {
            check();
            AnnotationSettings settings = settings();
            Configuration hadoop = SparkDefaults.hadoopConfiguration();
            Path dir = new Path(out);
            FileSystem fs = dir.getFileSystem(hadoop);
            String text = guidelines == null ? builtInGuidelines() : OptionFiles.read(fs, new Path(guidelines), "--guidelines");
            ResponseSource source;
            if (generated != null) {
                source = new GeneratedResponses(fs, new Path(generated), responses);
            } else {
                spark = SparkDefaults.cliSession(master, "spark-rlhf annotate");
                hadoop = spark.sparkContext().hadoopConfiguration();
                source = new PolicyResponses(ResponseBatches.open(spark, policy, tokenizer, prompts, sampling(),
                        responses, seed, 100_000, maxBadFraction, new Path(new Path(dir, "_items"), round)));
            }
            try (source; AnnotationService service = AnnotationService.open(fs, dir, settings, source, text)) {
                printTokens(service);
                CountDownLatch stop = new CountDownLatch(1);
                try (AnnotationServer server = new AnnotationServer(service, bind, port, secureCookies).start()) {
                    Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
                    var a = server.address();
                    System.out.printf("annotation round %s: %d prompts, K = %d, %s; judgements go to %s%n", round, source.prompts(), responses, source.describe(), dir);
                    System.out.printf("serving http://%s:%d/ (Ctrl-C stops; a restart continues the round)%n", a.getHostString(), a.getPort());
                    stop.await();
                }
            }
            return 0;
        } catch (java.io.IOException e) {
            // a missing file, a directory that is not this app's: the message names it
            System.err.println("error: " + e.getMessage());
            if (verbose) e.printStackTrace(System.err);
            return UserErrors.EXIT_CODE;
        } catch (Exception e) { // a wrong option (OptionException) and the other mistakes a user can fix end here; a bug keeps its stack trace
            return UserErrors.report(e, verbose, System.err);
        } finally {
            if (spark != null) spark.stop();
        }
    }

    private void printTokens(AnnotationService service) throws java.io.IOException {
        if (newAdminToken || !service.tokens.hasAdmin()) System.out.println("admin token (shown once; stored hashed): " + service.tokens.newAdminToken());
        for (String name : annotators) {
            String n = name.strip();
            if (n.isEmpty() || service.tokens.hasAnnotator(n)) continue;
            String token;
            try {
                token = service.tokens.newAnnotatorToken(n);
            } catch (IllegalArgumentException e) {
                throw new OptionException("--annotators: " + e.getMessage());
            }
            System.out.println("token for annotator " + n + " (shown once; stored hashed): " + token);
        }
        if (service.tokens.annotators().isEmpty()) System.out.println("no annotators yet: restart with --annotators NAME,NAME to make their tokens");
    }

    static String builtInGuidelines() throws java.io.IOException {
        try (InputStream in = AnnotateCommand.class.getResourceAsStream("web/guidelines.txt")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
