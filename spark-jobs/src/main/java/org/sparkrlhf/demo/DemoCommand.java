package org.sparkrlhf.demo;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;
import org.sparkrlhf.config.ConfigException;
import org.sparkrlhf.config.ConfigLoader;
import org.sparkrlhf.config.DemoConfig;
import org.sparkrlhf.engine.SparkDefaults;
import org.sparkrlhf.jobs.UserErrors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bin/rlhf demo}: the whole pipeline on embedded defaults (local Spark, local files unless --out names another file system). */
@Command(name = "demo", mixinStandardHelpOptions = true, versionProvider = org.sparkrlhf.cli.Version.class,
        description = "Pre-training, SFT, simulated human feedback, reward model, alignment (PPO, or --method, or --compare) and gold evaluation, end to end.")
public final class DemoCommand implements Callable<Integer> {

    @Option(names = "--out", description = "Run directory (any Hadoop URI; must be new or empty). Default: runs/demo-<date>-<time>.")
    String out;

    @Option(names = "--config", description = "YAML or JSON demo config laid over the defaults (demo.yaml).")
    String config;

    @Option(names = "--set", description = "Override one demo setting, e.g. --set feedback.prompts=1000 (repeatable).")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--stage", description = "Override one stage's job setting, e.g. --stage ppo:ppo.iterations=30 (repeatable).")
    List<String> stageOverrides = new ArrayList<>();

    @Option(names = "--method", description = "The alignment method: ppo (default), grpo, rloo, dpo or rejection (rejection sampling).")
    String method;

    @Option(names = "--compare", description = "Run every method from the same SFT model, reward model and feedback; writes comparison.json.")
    boolean compare;

    @Option(names = "--safety", description = "The harmlessness task: harmful prompts, a harm panel and a harmlessness reward model; methods ppo, safe (Safe RLHF) "
            + "and weighted unless --method names one.")
    boolean safety;

    @Option(names = "--ai-feedback", description = "The AI-feedback study: people rank a share of the feedback, a reward model trained on it labels the rest; "
            + "reward models on human-only, AI-only and mixed labels, measured against the panel.")
    boolean aiFeedback;

    @Option(names = "--from", description = "An earlier demo run whose pre-training, SFT, feedback and reward model to reuse: only the methods run.")
    String from;

    @Option(names = "--master", description = "Spark master, e.g. local[2] or local-cluster[2,1,1024]. Default: the one spark-submit or "
            + "spark.master sets, else local[*] (every core of this machine).")
    String master;

    @Option(names = "--verbose", description = "Print the stack trace with an error.")
    boolean verbose;

    public static void main(String[] args) {
        SparkDefaults.exit(new CommandLine(new DemoCommand()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        try {
            DemoPipeline pipeline = DemoPipeline.prepare(loadConfig(), stages(), new Configuration()); // every config, data and output check
            SparkSession spark = SparkDefaults.cliSession(master, "spark-rlhf-demo");
            System.err.println("demo: run directory " + pipeline.out());
            try {
                pipeline.run(spark);
                return 0;
            } finally {
                spark.stop();
            }
        } catch (Exception e) {
            // before any work (config, data package, output directory) or in a stage (a quarantine limit): the message names the fix
            return UserErrors.report(e, verbose, System.err);
        }
    }

    private DemoConfig loadConfig() throws java.io.IOException {
        List<String> sets = new ArrayList<>(overrides);
        if (out != null) sets.add("run.out=" + out);
        if (method != null && compare) throw new ConfigException("--method and --compare exclude each other: --compare runs every method");
        if (method != null) sets.add("run.methods=[" + method + "]");
        if (from != null) sets.add("run.from=" + from);
        if (compare && safety) throw new ConfigException("--compare and --safety exclude each other: --safety compares ppo, safe and weighted");
        if (compare) sets.add("run.methods=" + DemoConfig.METHODS);
        if (aiFeedback) sets.add(0, "aiFeedback.enabled=true");
        if (safety) {
            sets.add(0, "safety.enabled=true");
            if (method == null) sets.add("run.methods=" + DemoConfig.SAFETY_METHODS);
        }
        return ConfigLoader.load(DemoConfig.class, "demo.yaml", config, sets); // DemoPipeline.prepare validates it
    }

    private Map<String, List<String>> stages() {
        Map<String, List<String>> m = new LinkedHashMap<>();
        for (String s : stageOverrides) {
            int colon = s.indexOf(':');
            if (colon <= 0 || !s.substring(colon + 1).contains("="))
                throw new ConfigException("--stage '" + s + "' must look like STAGE:section.key=value, e.g. ppo:ppo.iterations=30");
            m.computeIfAbsent(s.substring(0, colon), k -> new ArrayList<>()).add(s.substring(colon + 1));
        }
        return m;
    }
}
