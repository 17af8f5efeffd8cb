package org.sparkrlhf.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkrlhf.checkpoint.CheckpointStore;
import org.sparkrlhf.checkpoint.GptWeights;
import org.sparkrlhf.config.ConfigLoader;
import org.sparkrlhf.config.JobConfig;
import org.sparkrlhf.data.DataException;
import org.sparkrlhf.engine.LocalSparkTest;
import org.sparkrlhf.tensor.DType;

/** The reward job called again and again, as a schedule calls it, while preference files arrive day by day. */
class RecurringTrainingTest extends LocalSparkTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final int ROUND = 6;

    /** Three days of preference records: prefer the sentence to the same sentence in capitals. */
    static List<List<String>> days() throws Exception {
        List<List<String>> days = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        int i = 0;
        for (String s : BrownText.sentences("ca06", "ca07")) {
            if (s.length() < 24) continue;
            String text = s.substring(0, 24);
            days.get(i++ % 3).add(JSON.writeValueAsString(Map.of("prompt", "Say something.", "chosen", text, "rejected", text.toUpperCase(),
                    "annotator", "a" + (i % 4))));
        }
        return days;
    }

    static JobConfig config(Path data, Path run) {
        return ConfigLoader.load(null, "test", List.of("run.dir=" + run.toUri(), "run.recurring=true", "data.train=" + data.toUri(),
                "data.evalFraction=0.2", "model.contextLength=64", "model.dModel=32", "model.nHeads=2", "model.nLayers=1",
                "train.steps=" + ROUND, "train.globalBatch=8", "train.microBatch=4", "train.warmupSteps=1", "train.lr=0.003",
                "train.logEvery=3", "train.checkpointEvery=3", "train.keepLast=3"));
    }

    static void arrive(Path data, String name, List<String> records) throws Exception {
        Files.createDirectories(data);
        Files.write(data.resolve(name), records, StandardCharsets.UTF_8);
    }

    static CheckpointStore.Checkpoint latest(Path run) throws Exception {
        FileSystem fs = FileSystem.getLocal(new org.apache.hadoop.conf.Configuration());
        return new CheckpointStore(fs, new org.apache.hadoop.fs.Path(run.toUri()), 3, true).latestValid().orElseThrow();
    }

    static float[] weights(Path run) throws Exception {
        return latest(run).read("weights.safetensors", (in, src) -> GptWeights.read(in, src, 0, DType.FLOAT32)).parameters().flat().toFloatArray();
    }

    static JsonNode round(Path run) throws Exception {
        return latest(run).read("state.json", (in, src) -> JSON.readTree(in)).get("round");
    }

    @Test
    void eachCallTrainsARoundOnNewDataAndAnInterruptedRoundEndsAsAnUninterruptedOne(@TempDir Path dir) throws Exception {
        List<List<String>> days = days();

        // run A: day 1, day 2, each trained as it arrives
        Path dataA = dir.resolve("a/prefs"), runA = dir.resolve("a/run");
        arrive(dataA, "day-1.jsonl", days.get(0));
        assertEquals(ROUND, RewardJob.train(spark, config(dataA, runA), null).step());
        assertEquals(ROUND, RewardJob.train(spark, config(dataA, runA), null).step(), "nothing new: the call ends at once");
        assertEquals(0, round(runA).get("index").asInt());
        arrive(dataA, "day-2.jsonl", days.get(1));
        assertEquals(2 * ROUND, RewardJob.train(spark, config(dataA, runA), null).step());
        assertEquals(1, round(runA).get("index").asInt());
        assertEquals(2, round(runA).get("files").size(), "a round trains on every file present when it began");

        // run B: the same, but the day-2 round is interrupted, and day 3 arrives before the next call
        Path dataB = dir.resolve("b/prefs"), runB = dir.resolve("b/run");
        arrive(dataB, "day-1.jsonl", days.get(0));
        RewardJob.train(spark, config(dataB, runB), null);
        arrive(dataB, "day-2.jsonl", days.get(1));
        assertThrows(IllegalStateException.class, () -> RewardJob.train(spark, config(dataB, runB), r -> {
            if (r.step() == ROUND + 4) throw new IllegalStateException("killed");
        }));
        arrive(dataB, "day-3.jsonl", days.get(2));

        // the interrupted round must finish on its own files: a changed one is an error that names it
        Files.write(dataB.resolve("day-2.jsonl"), List.of(days.get(1).get(0)), StandardCharsets.UTF_8);
        DataException changed = assertThrows(DataException.class, () -> RewardJob.train(spark, config(dataB, runB), null));
        assertTrue(changed.getMessage().contains("day-2.jsonl") && changed.getMessage().contains("changed length"), changed.getMessage());
        arrive(dataB, "day-2.jsonl", days.get(1));

        assertEquals(2 * ROUND, RewardJob.train(spark, config(dataB, runB), null).step());
        assertArrayEquals(weights(runA), weights(runB), "the interrupted round ends bit-identical to the uninterrupted one");
        assertEquals(2, round(runB).get("files").size(), "day 3 waits for the next round");

        assertEquals(3 * ROUND, RewardJob.train(spark, config(dataB, runB), null).step(), "the next call takes up day 3");
        assertEquals(2, round(runB).get("index").asInt());
        assertEquals(3, round(runB).get("files").size());
        assertEquals(3 * ROUND, RewardJob.train(spark, config(dataB, runB), null).step());
    }
}
