package org.sparkrlhf.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.Head;
import org.sparkrlhf.rl.ExperienceMaker;

/**
 * A model named on a command line: a checkpoint directory (a run's {@code checkpoints/step-N}, whose
 * {@code weights.safetensors} or PPO {@code policy.safetensors} it holds), a weights file, or a
 * Hugging Face directory {@code hf:DIR}; with the tokenizer it was trained with and, for a reward
 * model, the normalization its scores get.
 *
 * @param weights   what was loaded (for messages and provenance)
 * @param tokenizer the tokenizer spec: the override, else the run's {@code model.tokenizer}, else the HF directory's tokenizer.json
 * @param norm      a reward model's score normalization, else null
 */
record ModelSpec(Gpt model, String weights, String tokenizer, ExperienceMaker.ScoreNorm norm) {
    private static final ObjectMapper JSON = new ObjectMapper();

    static ModelSpec resolve(Configuration hadoop, String option, String spec, String tokenizerOverride) throws IOException {
        if (spec.startsWith("hf:")) {
            Gpt model = ModelFiles.load(hadoop, option, spec);
            String tok = tokenizerOverride;
            Path json = new Path(spec.substring(3), "tokenizer.json"), vocab = new Path(spec.substring(3), "vocab.json");
            if (tok == null) {
                FileSystem fs = json.getFileSystem(hadoop);
                if (fs.exists(json)) tok = "hf:" + json;
                else if (fs.exists(vocab) && fs.exists(new Path(spec.substring(3), "merges.txt"))) tok = spec; // GPT-2's vocab.json + merges.txt
                else throw new ModelFileException(option + ": " + spec + " has neither tokenizer.json nor vocab.json + merges.txt; pass --tokenizer");
            }
            ExperienceMaker.ScoreNorm norm = model.config().has(Head.REWARD) ? ModelFiles.rewardNorm(hadoop, spec) : null;
            return new ModelSpec(model, spec, tok, norm);
        }
        Path given = new Path(spec);
        FileSystem fs = given.getFileSystem(hadoop);
        if (!fs.exists(given)) throw new ModelFileException(option + ": " + spec + " does not exist; name a checkpoint directory, a weights file or hf:DIR");
        boolean isDir = fs.getFileStatus(given).isDirectory();
        Path dir = isDir ? given : given.getParent();
        Path weights = isDir ? weightsIn(fs, given, option) : given;
        Gpt model = ModelFiles.load(hadoop, option, weights.toString());
        ExperienceMaker.ScoreNorm norm = null;
        if (model.config().has(Head.REWARD)) {
            if (!fs.exists(new Path(dir, ModelFiles.REWARD_NORM)))
                throw new ModelFileException(option + ": " + dir + " holds a reward model but no " + ModelFiles.REWARD_NORM + "; name a reward-job checkpoint directory");
            norm = ModelFiles.rewardNorm(hadoop, dir.toString());
        }
        return new ModelSpec(model, weights.toString(), tokenizerOverride != null ? tokenizerOverride : tokenizerOf(fs, dir, option), norm);
    }

    /** The weights of a checkpoint directory: a PPO run's policy, else the one model. */
    static Path weightsIn(FileSystem fs, Path dir, String option) throws IOException {
        for (String name : new String[]{"policy.safetensors", "weights.safetensors"})
            if (fs.exists(new Path(dir, name))) return new Path(dir, name);
        throw new ModelFileException(option + ": " + dir + " holds neither weights.safetensors nor policy.safetensors; name a checkpoint directory "
                + "(RUN/checkpoints/step-NNNNNNN) or a weights file");
    }

    /** model.tokenizer from the run's config.json that every checkpoint carries. */
    static String tokenizerOf(FileSystem fs, Path dir, String option) throws IOException {
        Path config = new Path(dir, "config.json");
        if (!fs.exists(config))
            throw new ModelFileException(option + ": no config.json beside " + dir + " to say which tokenizer the model uses; pass --tokenizer");
        try (InputStream in = fs.open(config)) {
            JsonNode c = JSON.readTree(in);
            JsonNode spec = c.path("model").path("tokenizer").isTextual() ? c.path("model").path("tokenizer") : c.path("job").path("model").path("tokenizer");
            if (!spec.isTextual()) throw new ModelFileException(option + ": " + config + " names no model.tokenizer; pass --tokenizer");
            return spec.asText();
        }
    }
}
