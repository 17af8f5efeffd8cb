package org.sparkrlhf.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparkrlhf.checkpoint.HuggingFaceGpt2;
import org.sparkrlhf.cli.Version;
import org.sparkrlhf.engine.SparkDefaults;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.Head;
import org.sparkrlhf.rl.ExperienceMaker;
import org.sparkrlhf.tokenizer.Tokenizer;
import org.sparkrlhf.tokenizer.Tokenizers;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code rlhf export}: a checkpoint as a Hugging Face directory that {@code from_pretrained}
 * loads without code: a policy as {@code GPT2LMHeadModel}, a reward model as
 * {@code GPT2ForSequenceClassification} with its normalization, plus the tokenizer when it has a
 * Hugging Face form. Reads and writes any Hadoop FileSystem.
 */
@Command(name = "export", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Write a checkpoint as a Hugging Face GPT-2 directory (config.json, model.safetensors, generation_config.json, tokenizer).")
public final class ExportCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Parameters(index = "0", paramLabel = "CHECKPOINT",
            description = "A checkpoint directory (RUN/checkpoints/step-NNNNNNN: weights.safetensors, or a PPO run's policy.safetensors) or a weights file.")
    String checkpoint;

    @Option(names = "--out", required = true, description = "The directory to write (any Hadoop URI).")
    String out;

    @Option(names = "--dtype", defaultValue = "f32", description = "f32, bf16 or f16 (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--tokenizer", description = "The tokenizer spec (default: model.tokenizer of the run's config.json beside the checkpoint).")
    String tokenizer;

    @Option(names = "--peft", description = "From a LoRA run, write the adapters as a PEFT adapter directory (adapter_config.json, adapter_model.safetensors) instead of merging them.")
    boolean peft;

    @Option(names = "--critic", description = "From a PPO checkpoint, export the critic (trunk as GPT2LMHeadModel, its value head in value_head.safetensors) instead of the policy.")
    boolean critic;

    @Option(names = "--verbose", description = "Print the stack trace with an error.")
    boolean verbose;

    public static void main(String[] args) {
        SparkDefaults.exit(new CommandLine(new ExportCommand()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        try {
            return export(SparkDefaults.hadoopConfiguration());
        } catch (Exception e) {
            return UserErrors.report(e, verbose, System.err);
        }
    }

    int export(Configuration hadoop) throws IOException {
        String type = switch (dtype.toLowerCase()) {
            case "f32" -> "F32";
            case "bf16" -> "BF16";
            case "f16" -> "F16";
            default -> throw new ModelFileException("--dtype " + dtype + " is not one of f32, bf16, f16");
        };
        ModelSpec m = ModelSpec.resolve(hadoop, "export", critic ? criticWeights(hadoop) : checkpoint, tokenizer);
        if (peft) return exportPeft(hadoop, m, type);
        Gpt model = m.model().config().lora() != null ? m.model().merged() : m.model(); // adapters folded into their weights
        String weights = m.weights(), spec = m.tokenizer();
        HuggingFaceGpt2.RewardNorm norm = m.norm() == null ? null : new HuggingFaceGpt2.RewardNorm(m.norm().mean(), m.norm().std());
        Tokenizer tok = Tokenizers.create(spec);
        HadoopModelDirectory target = new HadoopModelDirectory(hadoop, out);
        HuggingFaceGpt2.write(target, model.config(), model.parameters(), type, norm, tok.eosToken(), tok.padToken());
        String tokenizerNote = writeTokenizer(hadoop, spec, tok, target);
        System.out.printf("exported %s (%s, %,d parameters, %s) from %s to %s; %s%n",
                model.config().has(Head.REWARD) ? "a reward model" : "a policy", model.config().has(Head.REWARD) ? "GPT2ForSequenceClassification" : "GPT2LMHeadModel",
                model.parameters().flat().size(), dtype.toLowerCase(), weights, out, tokenizerNote);
        return 0;
    }

    /** The adapters alone, as PEFT writes them, with the tokenizer; the base is exported on its own (bin/rlhf export of model.init). */
    private int exportPeft(Configuration hadoop, ModelSpec m, String type) throws IOException {
        if (m.model().config().lora() == null)
            throw new ModelFileException("export --peft: " + checkpoint + " is not a LoRA model (it has no adapters); export it without --peft");
        HadoopModelDirectory target = new HadoopModelDirectory(hadoop, out);
        try {
            org.sparkrlhf.checkpoint.PeftAdapters.write(target, m.model(), type, null);
        } catch (IllegalArgumentException e) {
            throw new ModelFileException("export --peft: " + e.getMessage());
        }
        Tokenizer tok = Tokenizers.create(m.tokenizer());
        String note = writeTokenizer(hadoop, m.tokenizer(), tok, target);
        System.out.printf("exported the LoRA adapters of %s (rank %d on %s) to %s as a PEFT adapter directory; load it onto the base model "
                + "exported without --peft from its model.init; %s%n", m.weights(), m.model().config().lora().rank(), m.model().config().lora().targets(), out, note);
        return 0;
    }

    /** A PPO checkpoint directory's critic.safetensors (its config.json beside it names the tokenizer). */
    private String criticWeights(Configuration hadoop) throws IOException {
        Path dir = new Path(checkpoint), file = new Path(dir, "critic.safetensors");
        if (!file.getFileSystem(hadoop).exists(file))
            throw new ModelFileException("export --critic: " + checkpoint + " has no critic.safetensors; name a PPO run's checkpoint directory (RUN/checkpoints/step-NNNNNNN)");
        return file.toString();
    }

    /** GPT-2's own vocab.json and merges.txt (from the ranks the gpt2 tokenizer uses), which GPT2Tokenizer loads. */
    private static String writeGpt2Tokenizer(HadoopModelDirectory target) throws IOException {
        java.nio.file.Path tmp = java.nio.file.Files.createTempDirectory("gpt2-tokenizer");
        try {
            org.sparkrlhf.tokenizer.BpeFiles.writeGpt2(tmp.resolve("vocab.json"), tmp.resolve("merges.txt"));
            for (String f : new String[]{"vocab.json", "merges.txt"})
                try (OutputStream o = target.create(f)) {
                    java.nio.file.Files.copy(tmp.resolve(f), o);
                }
        } finally {
            for (String f : new String[]{"vocab.json", "merges.txt"}) java.nio.file.Files.deleteIfExists(tmp.resolve(f));
            java.nio.file.Files.deleteIfExists(tmp);
        }
        ObjectNode c = JSON.createObjectNode();
        c.put("tokenizer_class", "GPT2Tokenizer");
        c.put("bos_token", "<|endoftext|>");
        c.put("eos_token", "<|endoftext|>");
        c.put("unk_token", "<|endoftext|>");
        c.put("add_prefix_space", false);
        c.put("model_max_length", 1024);
        try (OutputStream o = target.create("tokenizer_config.json")) {
            o.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(c));
        }
        return "tokenizer: GPT-2's vocab.json and merges.txt";
    }

    /** Copies a Hugging Face tokenizer.json beside the model (with a tokenizer_config.json); says what was done. */
    private static String writeTokenizer(Configuration hadoop, String spec, Tokenizer tok, HadoopModelDirectory target) throws IOException {
        if (spec.equals("gpt2")) return writeGpt2Tokenizer(target);
        if (!spec.startsWith("hf:")) return "tokenizer '" + spec + "' has no Hugging Face form: only the model was written";
        Path source = new Path(spec.substring(3));
        try (InputStream in = source.getFileSystem(hadoop).open(source); OutputStream o = target.create("tokenizer.json")) {
            in.transferTo(o);
        }
        String eos = null;
        try (InputStream in = source.getFileSystem(hadoop).open(source)) {
            for (JsonNode t : JSON.readTree(in).path("added_tokens")) if (t.path("id").asInt() == tok.eosToken()) eos = t.path("content").asText();
        }
        ObjectNode c = JSON.createObjectNode();
        c.put("tokenizer_class", "PreTrainedTokenizerFast");
        if (eos != null) {
            c.put("bos_token", eos);
            c.put("eos_token", eos);
        }
        c.put("model_max_length", 1_000_000);
        try (OutputStream o = target.create("tokenizer_config.json")) {
            o.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(c));
        }
        return "tokenizer: tokenizer.json and tokenizer_config.json";
    }
}
