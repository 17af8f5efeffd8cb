package org.sparkrlhf.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkrlhf.checkpoint.CheckpointStore;
import org.sparkrlhf.checkpoint.GptWeights;
import org.sparkrlhf.config.ConfigLoader;
import org.sparkrlhf.config.JobConfig;
import org.sparkrlhf.data.DataException;
import org.sparkrlhf.engine.LocalSpark;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.engine.MiniHdfs;

class PretrainJobTest {
    static SparkSession spark;
    static MiniDFSCluster hdfs;
    static java.nio.file.Path data;

    @BeforeAll
    static void start(@TempDir java.nio.file.Path dir) throws IOException {
        spark = LocalSpark.start("local[2]");
        hdfs = MiniHdfs.start();
        // real text, plus three malformed records that must be quarantined, not dropped
        List<String> lines = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        for (String s : BrownText.sentences("ca01", "ca02")) lines.add(json.writeValueAsString(java.util.Map.of("text", s)));
        lines.add(5, "{\"txt\": \"misspelled field\"}");
        lines.add(9, "{not json");
        lines.add(20, "{\"text\": \"   \"}");
        data = dir.resolve("brown.jsonl");
        Files.write(data, lines, StandardCharsets.UTF_8);
    }

    @AfterAll
    static void stop() {
        if (spark != null) spark.stop();
        if (hdfs != null) hdfs.shutdown();
    }

    static JobConfig config(String runDir, boolean resume, String... more) {
        List<String> o = new ArrayList<>(List.of("run.dir=" + runDir, "run.resume=" + resume, "data.train=" + data.toUri(),
                "data.maxBadFraction=0.05", "model.contextLength=32", "model.dModel=32", "model.nHeads=2", "model.nLayers=1",
                "train.steps=6", "train.globalBatch=8", "train.microBatch=4", "train.partitions=2", "train.warmupSteps=1",
                "train.checkpointEvery=3", "train.logEvery=2", "train.lr=0.003"));
        o.addAll(List.of(more));
        return ConfigLoader.load(null, "test", o);
    }

    static float[] finalWeights(String runDir) throws IOException {
        Path run = new Path(runDir);
        FileSystem fs = run.getFileSystem(spark.sparkContext().hadoopConfiguration());
        CheckpointStore.Checkpoint c = new CheckpointStore(fs, run, 2, false).latestValid().orElseThrow();
        assertEquals(6, c.step());
        return GptWeights.read(c.open("weights.safetensors"), "final", 0, DType.FLOAT32).parameters().flat().toFloatArray();
    }

    @Test
    void resumedRunIsBitIdenticalOnLocalFilesAndOnHdfs(@TempDir java.nio.file.Path dir) throws Exception {
        String local = dir.resolve("run").toUri().toString();
        String hdfsRun = hdfs.getFileSystem().getUri() + "/runs/pretrain";
        String reference = dir.resolve("reference").toUri().toString();

        TrainingLoop.Outcome full = PretrainJob.train(spark, config(reference, false), null);
        assertEquals(6, full.step());
        float[] expected = finalWeights(reference);

        for (String run : List.of(local, hdfsRun)) {
            // crash after step 4: the newest checkpoint is step 3
            assertThrows(IllegalStateException.class, () -> PretrainJob.train(spark, config(run, false), r -> {
                if (r.step() == 4) throw new IllegalStateException("simulated crash");
            }));
            List<Long> stepsRun = new ArrayList<>();
            TrainingLoop.Outcome resumed = PretrainJob.train(spark, config(run, true), r -> stepsRun.add(r.step()));
            assertEquals(6, resumed.step());
            assertEquals(List.of(4L, 5L, 6L), stepsRun, "the resumed run continues from the step-3 checkpoint");
            assertArrayEquals(expected, finalWeights(run), "resumed run on " + run + " differs from the uninterrupted one");
            // the metrics read as one run: steps 1..6 once each
            Path metrics = new Path(run + "/metrics/pretrain.jsonl");
            String text = new String(metrics.getFileSystem(spark.sparkContext().hadoopConfiguration()).open(metrics).readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(6, text.lines().count(), text);
        }
    }

    /**
     * model.device: cuda on a machine without a GPU: the ranks fail at once with a message naming the
     * missing piece and the README section, and the driver says so; nothing falls back to the CPU.
     */
    @Test
    void cudaWithoutAGpuFailsNamingWhatIsMissing(@TempDir java.nio.file.Path dir) {
        boolean gpuHere;
        try (org.sparkrlhf.cuda.CudaDevice d = org.sparkrlhf.cuda.CudaDevice.open(0)) {
            gpuHere = true;
        } catch (org.sparkrlhf.cuda.CudaException e) {
            gpuHere = false;
        }
        org.junit.jupiter.api.Assumptions.assumeFalse(gpuHere, "skipped: this machine has a usable GPU (bin/gpu-check covers that case)");
        String run = dir.resolve("cuda").toUri().toString();
        RuntimeException e = assertThrows(RuntimeException.class,
                () -> PretrainJob.train(spark, config(run, false, "model.device=cuda", "train.stageRetries=0"), null));
        String all = e.getMessage() + " " + (e.getCause() == null ? "" : e.getCause().getMessage());
        assertTrue(all.contains("model.device is cuda but") && all.contains("could not be loaded") && all.contains("GPU executors (CUDA)"), all);
    }

    @Test
    void badRecordsAreQuarantinedWithFileLineAndReason(@TempDir java.nio.file.Path dir) throws Exception {
        String run = dir.resolve("q").toUri().toString();
        java.io.PrintStream oldErr = System.err;
        java.io.ByteArrayOutputStream console = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(console, true));
        try {
            PretrainJob.train(spark, config(run, false, "train.steps=2", "train.warmupSteps=0", "train.schedule=constant"), null);
        } finally {
            System.setErr(oldErr);
        }
        // under the limit, but said on the console, with where to look
        assertTrue(console.toString().contains("train data: 3 of ") && console.toString().contains("are malformed and were set aside in ")
                && console.toString().contains("/q/quarantine/train.jsonl with file, line and reason"), console.toString());
        List<String> q = Files.readAllLines(dir.resolve("q/quarantine/train.jsonl"));
        assertEquals(3, q.size());
        for (String record : q) // each names the file it came from, as the reader saw it
            assertEquals(data.toUri().toString().replaceFirst("^file:///", "file:/"), new ObjectMapper().readTree(record).path("file").asText(), record);
        assertTrue(q.get(0).contains("\"line\":6") && q.get(0).contains("missing field 'text'"), q.get(0));
        assertTrue(q.get(1).contains("\"line\":10") && q.get(1).contains("not valid JSON"), q.get(1));
        assertTrue(q.get(2).contains("\"line\":21") && q.get(2).contains("empty text"), q.get(2));
        String metrics = Files.readString(dir.resolve("q/metrics/pretrain.jsonl"));
        assertTrue(metrics.contains("\"data_records\":199,\"data_bad_records\":3}"), "counts are numbers: " + metrics);
        assertTrue(Files.isDirectory(dir.resolve("q/metrics/pretrain.parquet")));

        DataException tooMany = assertThrows(DataException.class,
                () -> PretrainJob.train(spark, config(dir.resolve("q2").toUri().toString(), false, "data.maxBadFraction=0.001"), null));
        assertTrue(tooMany.getMessage().contains("above data.maxBadFraction = 0.001") && tooMany.getMessage().contains("quarantine/train.jsonl"),
                tooMany.getMessage());
        DataException missing = assertThrows(DataException.class,
                () -> PretrainJob.train(spark, config(dir.resolve("q3").toUri().toString(), false, "data.train=/no/such/file.jsonl"), null));
        assertTrue(missing.getMessage().contains("data not found: /no/such/file.jsonl"), missing.getMessage());
    }
}
