package org.sparkrlhf.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparkrlhf.checkpoint.CheckpointStore;
import org.sparkrlhf.checkpoint.GptWeights;
import org.sparkrlhf.checkpoint.HuggingFaceGpt2;
import org.sparkrlhf.checkpoint.SafeTensors;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.rl.ExperienceMaker;
import org.sparkrlhf.tensor.DType;

/**
 * The model files a job's config names ({@code model.init}, {@code ppo.policyInit},
 * {@code ppo.reward}), read from any Hadoop FileSystem: our weights files and checkpoints, or
 * {@code hf:DIR}, a Hugging Face GPT-2 directory (a policy, or a reward model this project
 * exported). A missing, corrupt or misshapen file is a {@link ModelFileException} naming the key,
 * the file, what is wrong and what to do.
 */
public final class ModelFiles {
    private ModelFiles() {}

    private static final ObjectMapper JSON = new ObjectMapper();
    static final String REWARD_NORM = "reward_norm.json";
    static final String HF = "hf:";

    /** Before Spark starts: each file the keys name exists. {@code ppo.reward} names a checkpoint directory. */
    static void requireExists(Configuration hadoop, String key, String location) throws IOException {
        if (location.isEmpty()) return;
        if (location.startsWith(HF)) {
            huggingFace(hadoop, key, location);
            return;
        }
        if (key.equals("ppo.reward")) {
            if (location.startsWith("token-frequency:")) return;
            require(hadoop, key, location + "/weights.safetensors");
            require(hadoop, key, location + "/" + REWARD_NORM);
        } else {
            require(hadoop, key, location);
        }
    }

    /** A whole model (sizes read from the file). */
    public static Gpt load(Configuration hadoop, String key, String location) throws IOException {
        if (location.startsWith(HF)) {
            HuggingFaceGpt2.Imported m = imported(hadoop, key, location);
            return new Gpt(m.config(), m.parameters());
        }
        GptWeights.Loaded l;
        try (InputStream in = open(hadoop, key, location)) {
            l = GptWeights.read(in, location, 0, DType.FLOAT32);
        } catch (IOException | IllegalArgumentException e) {
            throw unusable(key, location, e, "point " + key + " at weights of the model the job expects");
        }
        if (!l.adaptersOnly()) return new Gpt(l.config(), l.parameters());
        return withBase(hadoop, key, location, l);
    }

    /** A LoRA run's adapters on their base: the weights their file names (a LoRA checkpoint holds only the adapters and heads). */
    private static Gpt withBase(Configuration hadoop, String key, String location, GptWeights.Loaded adapters) throws IOException {
        String base = adapters.base();
        Gpt model;
        if (base.startsWith("seed:")) { // the run started from random weights: the same init, drawn again
            model = Gpt.init(adapters.config(), DType.FLOAT32, Long.parseLong(base.substring(5)));
        } else {
            model = Gpt.init(adapters.config(), DType.FLOAT32, 0);
            Gpt b = load(hadoop, key + " (the base of the LoRA adapters in " + location + ")", base);
            if (b.config().lora() != null) b = b.merged();
            model.base().parameters().copySharedFrom(b.parameters());
        }
        model.trainable().flat().copyFrom(adapters.parameters().flat());
        return model;
    }

    /** {@code model.init}: the trunk into {@code target}; heads the file lacks (a reward head on an SFT model) keep their fresh init. */
    static void loadInit(Configuration hadoop, String location, Parameters target, String stage) throws IOException {
        List<String> fresh;
        try {
            if (location.startsWith(HF)) {
                fresh = HuggingFaceGpt2.readTrunk(huggingFace(hadoop, "model.init", location), target);
            } else {
                SafeTensors.Contents file;
                try (InputStream in = open(hadoop, "model.init", location)) {
                    file = SafeTensors.read(in, location); // read once, whichever kind it is
                }
                if (GptWeights.isAdapters(file)) { // a LoRA run's checkpoint: its adapters merged into its base
                    Gpt m = withBase(hadoop, "model.init", location, GptWeights.read(file, location, 0, DType.FLOAT32)).merged();
                    fresh = new java.util.ArrayList<>();
                    for (var e : target.layout().entries().values()) if (!m.parameters().layout().contains(e.name())) fresh.add(e.name());
                    target.copySharedFrom(m.parameters());
                } else {
                    fresh = GptWeights.readTrunk(file, location, target);
                }
            }
        } catch (IOException | IllegalArgumentException e) {
            throw unusable("model.init", location, e, String.valueOf(e.getMessage()).contains("'wte.weight' has shape")
                    ? "the vocabularies differ: use the model's own tokenizer (for a Hugging Face directory, model.tokenizer=hf:DIR/tokenizer.json)"
                    : "model.* sets the sizes; they must be the ones the file was trained with");
        }
        if (!fresh.isEmpty()) System.err.printf("%s: initialised from %s; new heads %s start from random init%n", stage, location, fresh);
    }

    /** A checkpoint's model file: the whole model, or with LoRA its adapters and heads naming the base they sit on (a job rebuilds that base on a resume). */
    static void writeModel(OutputStream out, Gpt m, String base) throws IOException {
        if (m.config().lora() != null) GptWeights.writeAdapters(out, m.config(), m.trainable(), base);
        else GptWeights.write(out, m.config(), m.parameters());
    }

    /** Reads {@link #writeModel}'s file back into {@code m} (with LoRA only the adapters and heads: the base is already there). */
    static void restoreModel(CheckpointStore.Checkpoint c, String file, Gpt m) throws IOException {
        if (m.config().lora() == null) {
            m.parameters().flat().copyFrom(c.read(file, (in, src) -> GptWeights.read(in, src, m.config(), DType.FLOAT32)).flat());
            return;
        }
        GptWeights.Loaded a = c.read(file, (in, src) -> GptWeights.read(in, src, 0, DType.FLOAT32));
        if (!a.adaptersOnly() || !a.config().equals(m.config()))
            throw new IllegalStateException(file + " of checkpoint " + c.step() + " does not hold this run's LoRA adapters; resume with the settings it was written with");
        m.trainable().flat().copyFrom(a.parameters().flat());
    }

    /** The reward model of {@code ppo.reward} (a reward-job checkpoint directory) and the normalization its scores get. */
    static Gpt rewardModel(Configuration hadoop, String checkpointDir) throws IOException {
        return load(hadoop, "ppo.reward", checkpointDir.startsWith(HF) ? checkpointDir : checkpointDir + "/weights.safetensors");
    }

    static ExperienceMaker.ScoreNorm rewardNorm(Configuration hadoop, String checkpointDir) throws IOException {
        if (checkpointDir.startsWith(HF)) {
            HuggingFaceGpt2.RewardNorm n;
            try {
                n = HuggingFaceGpt2.rewardNorm(huggingFace(hadoop, "ppo.reward", checkpointDir));
            } catch (IOException e) {
                throw unusable("ppo.reward", checkpointDir, e, "the directory must hold a GPT-2-family model");
            }
            if (n == null)
                throw new ModelFileException("ppo.reward: " + checkpointDir + " has no reward normalization (sparkrlhf.reward_norm in config.json); "
                        + "export the reward model with bin/rlhf export, or point ppo.reward at a reward-job checkpoint directory");
            return new ExperienceMaker.ScoreNorm(n.mean(), Math.max(1e-6, n.std()));
        }
        String location = checkpointDir + "/" + REWARD_NORM;
        try (InputStream in = open(hadoop, "ppo.reward", location)) {
            JsonNode n = JSON.readTree(in);
            if (!n.path("mean").isNumber() || !n.path("std").isNumber()) throw new IOException("needs numbers 'mean' and 'std'");
            return new ExperienceMaker.ScoreNorm(n.get("mean").asDouble(), Math.max(1e-6, n.get("std").asDouble()));
        } catch (IOException e) {
            throw new ModelFileException("ppo.reward: " + location + " is unreadable (" + e.getMessage().replace('\n', ' ')
                    + "); point ppo.reward at a checkpoint directory the reward job wrote");
        }
    }

    /** {@code hf:DIR}: a Hugging Face directory, checked to hold a config and weights. */
    private static HadoopModelDirectory huggingFace(Configuration hadoop, String key, String location) throws IOException {
        String dir = location.substring(HF.length());
        HadoopModelDirectory d = new HadoopModelDirectory(hadoop, dir);
        if (!HuggingFaceGpt2.isModelDirectory(d))
            throw new ModelFileException(key + ": " + dir + " is not a Hugging Face model directory (it needs config.json and model.safetensors or "
                    + "model.safetensors.index.json); point " + key + " at one, e.g. hf:/models/gpt2");
        return d;
    }

    private static HuggingFaceGpt2.Imported imported(Configuration hadoop, String key, String location) throws IOException {
        HadoopModelDirectory d = huggingFace(hadoop, key, location);
        try {
            return HuggingFaceGpt2.read(d, DType.FLOAT32);
        } catch (IOException | IllegalArgumentException e) {
            throw unusable(key, location, e, "the directory must hold a GPT-2-family model");
        }
    }

    private static InputStream open(Configuration hadoop, String key, String location) throws IOException {
        require(hadoop, key, location);
        Path p = new Path(location);
        return p.getFileSystem(hadoop).open(p);
    }

    private static void require(Configuration hadoop, String key, String location) throws IOException {
        Path p = new Path(location);
        FileSystem fs = p.getFileSystem(hadoop);
        if (!fs.exists(p))
            throw new ModelFileException(key + ": " + location + " does not exist; " + (key.equals("ppo.reward")
                    ? "point ppo.reward at a reward-job checkpoint directory (RUN/checkpoints/step-NNNNNNN, with weights.safetensors and " + REWARD_NORM + ")"
                    : "point " + key + " at a weights file, e.g. RUN/checkpoints/step-NNNNNNN/" + (key.equals("model.init") ? "weights" : "policy")
                    + ".safetensors or a weights.safetensors of an SFT run"));
        if (fs.getFileStatus(p).isDirectory())
            throw new ModelFileException(key + ": " + location + " is a directory; name the weights file in it (weights.safetensors)");
    }

    /** The file's own problem first; {@code shapeFix} only when it is a matter of sizes, not of a damaged file. */
    private static ModelFileException unusable(String key, String location, Exception e, String shapeFix) {
        String m = String.valueOf(e.getMessage());
        boolean shape = m.contains("has shape") || m.contains("missing tensor");
        String fix = shape ? shapeFix : "the file is not usable weights; point " + key + " at a weights file a run of this project wrote";
        if (!m.startsWith(location)) m = location + ": " + m;
        int nl = m.indexOf('\n');
        return new ModelFileException(key + ": " + (nl < 0 ? m : m.substring(0, nl)) + "; " + fix);
    }
}
