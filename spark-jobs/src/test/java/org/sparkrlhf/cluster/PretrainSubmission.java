package org.sparkrlhf.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparkrlhf.checkpoint.CheckpointStore;
import org.sparkrlhf.jobs.BrownText;

/**
 * The job the cluster tests submit: a small pre-training run whose data, config file and
 * checkpoints all live in HDFS, with a command-line override on top of the config file.
 */
final class PretrainSubmission {
    static final int STEPS = 4;
    private final FileSystem fs;
    private final String root;

    /** Writes the data and the config under {@code hdfs://.../name}. */
    PretrainSubmission(FileSystem hdfs, String name) throws IOException {
        this.fs = hdfs;
        this.root = hdfs.getUri() + "/" + name;
        ObjectMapper json = new ObjectMapper();
        List<String> lines = new ArrayList<>();
        for (String s : BrownText.sentences("ca01")) lines.add(json.writeValueAsString(Map.of("text", s)));
        write(root + "/data/brown.jsonl", String.join("\n", lines) + "\n");
        write(root + "/pretrain.yaml", String.join("\n",
                "run:", "  dir: " + runDir(),
                "data:", "  train: " + root + "/data/brown.jsonl",
                "model: {contextLength: 32, dModel: 32, nHeads: 2, nLayers: 1}",
                "train: {steps: " + STEPS + ", globalBatch: 8, microBatch: 4, partitions: 2, warmupSteps: 1, checkpointEvery: 2, logEvery: 1}", ""));
    }

    String runDir() {
        return root + "/run";
    }

    String configUri() {
        return root + "/pretrain.yaml";
    }

    /** spark-submit's arguments after the master and deploy mode: the job's main class, the jar, its CLI. */
    List<String> args(String appJar) {
        return List.of("--class", "org.sparkrlhf.jobs.PretrainJob", "--name", "pretrain-it", appJar,
                "--config", configUri(), "--set", "train.lr=0.003");
    }

    /** The run finished: its newest valid checkpoint (manifest and sha256 checked) is the last step, and metrics were written. */
    void assertFinished() throws IOException {
        CheckpointStore.Checkpoint c = new CheckpointStore(fs, new Path(runDir()), 2, false).latestValid()
                .orElseThrow(() -> new AssertionError("no valid checkpoint under " + runDir()));
        assertEquals(STEPS, c.step());
        assertTrue(fs.exists(new Path(runDir(), "metrics/pretrain.jsonl")), "metrics/pretrain.jsonl in the run directory");
        String cfg = new String(fs.open(new Path(runDir(), "config.json")).readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(cfg.contains("\"lr\" : 0.003"), "the --set override reached the job: " + cfg);
    }

    private void write(String path, String text) throws IOException {
        try (OutputStream o = fs.create(new Path(path), true)) {
            o.write(text.getBytes(StandardCharsets.UTF_8));
        }
    }
}
