package org.sparkrlhf.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.sparkrlhf.loss.LanguageModelLoss;
import org.sparkrlhf.model.Batch;
import org.sparkrlhf.model.Forward;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.optim.AdamW;
import org.sparkrlhf.optim.LrSchedule;
import org.sparkrlhf.sampling.Sampler;
import org.sparkrlhf.sampling.SamplingConfig;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tensor.Parallel;
import org.sparkrlhf.tensor.Tensor;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code rlhf bench model}: training and sampling throughput of the GPT on this machine for the
 * {@code small} and {@code medium} configs, against the measured GEMM rate. Each figure is the best
 * over the thread settings tried. Prints a table; with --json, one JSON object as the last line.
 */
@Command(name = "bench model", mixinStandardHelpOptions = true, versionProvider = org.sparkrlhf.cli.Version.class,
        description = "Training and sampling throughput of the GPT model (small and medium configs).")
public final class ModelBenchmark implements Callable<Integer> {

    @Option(names = "--json", description = "Print one JSON object (the last line) after the table.")
    boolean json;

    @Option(names = "--threads", split = ",", defaultValue = "1,2", description = "Thread settings to try (default: ${DEFAULT-VALUE}).")
    int[] threads;

    @Option(names = "--steps", defaultValue = "30", description = "Timed training steps per setting (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--configs", split = ",", defaultValue = "small,medium", description = "Configs to run, in order: small, medium, gpt2 (default: ${DEFAULT-VALUE}).")
    String[] configs;

    @Option(names = "--lora", defaultValue = "0", description = "Also train with LoRA adapters of this rank on every projection (alpha = 2 x rank) and compare with full fine-tuning: step time and bytes all-reduced per step.")
    int loraRank;

    static final int BATCH = 16, PROMPT = 16, NEW_TOKENS = 64;

    static GptConfig config(String name) {
        return switch (name) {
            case "small" -> GptConfig.of(256, 64, 128, 4, 2);
            case "medium" -> GptConfig.of(256, 128, 256, 8, 4);
            case "gpt2" -> GptConfig.of(50257, 128, 768, 12, 12); // GPT-2 small's shape at context 128
            default -> throw new CommandLine.ParameterException(new CommandLine(new ModelBenchmark()),
                    "unknown config '" + name + "'; choose small, medium or gpt2");
        };
    }

    /**
     * Sequences per forward/backward pass within the batch of 16. GPT-2's vocabulary makes the logits
     * the largest activation ([tokens, 50257]); 4 sequences a pass (gradients summed over 4 passes, one
     * optimizer step) keep the activations a quarter the size at the same tokens/s, which is how a job
     * runs it too (train.microBatch). The small models run the batch in one pass.
     */
    static int microBatch(String name) {
        return name.equals("gpt2") ? 4 : BATCH;
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new ModelBenchmark()).execute(args));
    }

    @Override
    public Integer call() {
        for (int t : threads) if (t < 1) throw new CommandLine.ParameterException(new CommandLine(this), "--threads values must be >= 1");
        if (steps < 3) throw new CommandLine.ParameterException(new CommandLine(this), "--steps must be >= 3");
        Map<Integer, Double> gemm = new LinkedHashMap<>();
        for (int t : threads) {
            Parallel.setThreads(t);
            gemm.put(t, GemmRate.measure(1024));
        }
        double gemmBest = gemm.values().stream().mapToDouble(Double::doubleValue).max().orElse(0);
        ObjectNode out = new ObjectMapper().createObjectNode();
        gemm.forEach((t, g) -> System.out.printf("GEMM fp32 1024^3 on %d thread(s): %.0f GFLOP/s%n", t, g));
        System.out.printf("%-7s %7s %12s %11s %8s %13s %8s %8s%n", "config", "threads", "train tok/s", "train GF/s", "of GEMM", "sample tok/s", "threads", "RSS MB");
        for (String name : configs) {
            GptConfig c = config(name);
            double bestTrain = 0, bestSample = 0;
            int trainThreads = 0, sampleThreads = 0;
            for (int t : threads) {
                Parallel.setThreads(t);
                boolean big = c.vocabSize() > 1000; // GPT-2: seconds per step, so fewer warm-ups (the JIT is warm after one)
                double train = trainTokensPerSecond(c, steps, microBatch(name), big ? 1 : 5);
                System.gc(); // the training state's direct buffers go back before sampling allocates its own
                double sample = sampleTokensPerSecond(c, big ? 1 : 3, big ? 2 : 5);
                System.gc();
                if (train > bestTrain) { bestTrain = train; trainThreads = t; }
                if (sample > bestSample) { bestSample = sample; sampleThreads = t; }
            }
            double trainGflops = bestTrain * 3 * c.forwardFlops(1, c.contextLength()) / c.contextLength() / 1e9;
            long rss = peakRssMb();
            System.out.printf("%-7s %7d %12.0f %11.1f %7.0f%% %13.0f %8d %8d%n", name, trainThreads, bestTrain, trainGflops,
                    100 * trainGflops / gemmBest, bestSample, sampleThreads, rss);
            ObjectNode o = out.putObject(name);
            if (loraRank > 0) {
                Parallel.setThreads(trainThreads);
                GptConfig lc = c.withLora(new org.sparkrlhf.model.Lora(loraRank, 2.0 * loraRank, 0.0, java.util.Set.copyOf(org.sparkrlhf.model.Lora.TARGETS)));
                double loraTrain = trainTokensPerSecond(lc, steps, microBatch(name), c.vocabSize() > 1000 ? 1 : 5);
                System.gc();
                long fullBytes = 4L * org.sparkrlhf.model.ParameterLayout.of(c).size(), loraBytes = 4L * org.sparkrlhf.model.ParameterLayout.trainable(lc).size();
                double fullStep = BATCH * c.contextLength() / bestTrain, loraStep = BATCH * c.contextLength() / loraTrain;
                System.out.printf("%-7s LoRA rank %d on every projection: %.0f train tok/s, step %.2f s vs %.2f s full (%.0f%%); all-reduced per step %,.2f MB vs %,.1f MB full (%.2f%%)%n",
                        name, loraRank, loraTrain, loraStep, fullStep, 100 * loraStep / fullStep, loraBytes / 1e6, fullBytes / 1e6, 100.0 * loraBytes / fullBytes);
                ObjectNode lo = o.putObject("lora");
                lo.put("rank", loraRank);
                lo.put("train_tokens_per_s", Math.round(loraTrain));
                lo.put("step_seconds", round(loraStep));
                lo.put("full_step_seconds", round(fullStep));
                lo.put("allreduce_bytes_per_step", loraBytes);
                lo.put("full_allreduce_bytes_per_step", fullBytes);
            }
            o.put("gemm_gflops", round(gemmBest));
            o.put("train_tokens_per_s", Math.round(bestTrain));
            o.put("train_gflops", round(trainGflops));
            o.put("train_fraction_of_gemm", round(trainGflops / gemmBest));
            o.put("train_threads", trainThreads);
            o.put("sample_tokens_per_s", Math.round(bestSample));
            o.put("sample_threads", sampleThreads);
            o.put("peak_rss_mb", rss);
            o.put("parameters", Parameters.zeros(org.sparkrlhf.model.ParameterLayout.of(c), DType.FLOAT32).flat().size());
        }
        System.out.println("peak_rss_mb is the JVM's high-water mark so far: configs run in the order given, small first.");
        if (json) System.out.println(out);
        return 0;
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    /**
     * Full optimizer steps (forward, masked cross-entropy, backward, AdamW) on B x T random tokens, in
     * passes of {@code micro} sequences whose gradients add up (the logits become their own gradient,
     * as in LanguageModelObjective).
     */
    static double trainTokensPerSecond(GptConfig c, int steps, int micro, int warmups) {
        int t = c.contextLength(), n = BATCH * t, mn = micro * t;
        Gpt m = Gpt.init(c, DType.FLOAT32, 1);
        Parameters grads = m.newTrainableGradients(), trained = m.trainable(); // everything, or with LoRA the adapters
        AdamW opt = new AdamW(AdamW.Config.defaults(LrSchedule.constant(3e-4)), trained.layout(), DType.FLOAT32);
        SplittableRandom r = new SplittableRandom(1);
        int[] tokens = r.ints(n + 1, 0, c.vocabSize()).toArray();
        int[] targets = Arrays.copyOfRange(tokens, 1, n + 1);
        double[] weights = new double[n];
        Arrays.fill(weights, 1.0);
        Batch[] passes = new Batch[BATCH / micro];
        for (int k = 0; k < passes.length; k++) passes[k] = Batch.dense(Arrays.copyOfRange(tokens, k * mn, (k + 1) * mn), micro, t);
        Runnable step = () -> {
            grads.flat().zero();
            for (int k = 0; k < passes.length; k++) {
                Forward f = m.forward(passes[k]);
                LanguageModelLoss.crossEntropy(f.logits(), c.vocabSize(), Arrays.copyOfRange(targets, k * mn, (k + 1) * mn),
                        Arrays.copyOfRange(weights, k * mn, (k + 1) * mn), n, f.logits());
                m.backward(f, f.logits(), null, null, grads);
            }
            opt.step(trained, grads);
        };
        for (int i = 0; i < warmups; i++) step.run(); // JIT warm-up
        long t0 = System.nanoTime();
        for (int i = 0; i < steps; i++) step.run();
        return (double) steps * n / ((System.nanoTime() - t0) / 1e9);
    }

    /** 64 new tokens after 16-token prompts for 16 sequences, KV-cached, no early stop. */
    static double sampleTokensPerSecond(GptConfig c, int warmups, int reps) {
        Gpt m = Gpt.init(c, DType.FLOAT32, 2);
        Sampler sampler = new Sampler(m, 0);
        SplittableRandom r = new SplittableRandom(2);
        int[][] prompts = new int[BATCH][];
        long[] seeds = new long[BATCH];
        for (int b = 0; b < BATCH; b++) {
            prompts[b] = r.ints(PROMPT, 0, c.vocabSize()).toArray();
            seeds[b] = b;
        }
        SamplingConfig cfg = SamplingConfig.of(1.0, NEW_TOKENS);
        for (int i = 0; i < warmups; i++) sampler.sample(prompts, seeds, cfg);
        double best = 0;
        for (int rep = 0; rep < reps; rep++) {
            long t0 = System.nanoTime();
            int tokens = sampler.sample(prompts, seeds, cfg).totalTokens();
            best = Math.max(best, tokens / ((System.nanoTime() - t0) / 1e9));
        }
        return best;
    }

    /** The process's peak resident set (VmHWM), in MB; -1 where /proc is unavailable. */
    static long peakRssMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status")))
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
        } catch (Exception e) {
            return -1;
        }
        return -1;
    }
}
