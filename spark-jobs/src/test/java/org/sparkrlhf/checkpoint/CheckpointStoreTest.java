package org.sparkrlhf.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkrlhf.engine.MiniHdfs;

class CheckpointStoreTest {
    static MiniDFSCluster hdfs;

    @BeforeAll
    static void startHdfs() throws IOException {
        hdfs = MiniHdfs.start();
    }

    @AfterAll
    static void stopHdfs() {
        if (hdfs != null) hdfs.shutdown();
    }

    static Map<String, CheckpointStore.FileWriter> files(String content) {
        Map<String, CheckpointStore.FileWriter> f = new LinkedHashMap<>();
        f.put("weights.bin", out -> out.write(content.getBytes(StandardCharsets.UTF_8)));
        f.put("state.json", out -> out.write(("{\"c\":\"" + content + "\"}").getBytes(StandardCharsets.UTF_8)));
        return f;
    }

    @Test
    void onHdfs() throws IOException {
        exercise(hdfs.getFileSystem(), new Path("/runs/r1"));
    }

    @Test
    void onLocalFiles(@TempDir java.nio.file.Path dir) throws IOException {
        exercise(FileSystem.getLocal(new Configuration()), new Path(dir.toUri()));
    }

    private void exercise(FileSystem fs, Path run) throws IOException {
        CheckpointStore store = new CheckpointStore(fs, run, 2, false);
        assertTrue(store.latestValid().isEmpty());
        store.save(1, files("one"), 5.0);
        store.save(2, files("two"), 1.0); // best (lower is better)
        store.save(3, files("three"), 3.0);
        store.save(4, files("four"), 4.0);
        // kept: the last two (4, 3) and the best (2)
        List<String> names = store.published().stream().map(Path::getName).toList();
        assertEquals(List.of("step-0000004", "step-0000003", "step-0000002"), names);
        assertEquals(4, store.latestValid().orElseThrow().step());
        String text = new String(store.latestValid().orElseThrow().open("weights.bin").readAllBytes(), StandardCharsets.UTF_8);
        assertEquals("four", text);

        // corrupt the newest: it is skipped and the previous one is used
        Path newest = new Path(run, "checkpoints/step-0000004/weights.bin");
        fs.delete(newest, false);
        try (OutputStream out = fs.create(newest)) {
            out.write("fouR".getBytes(StandardCharsets.UTF_8));
        }
        assertEquals(3, store.latestValid().orElseThrow().step());

        // a directory without a manifest (a writer that died before publishing) is never trusted
        fs.mkdirs(new Path(run, "checkpoints/step-0000009"));
        fs.create(new Path(run, "checkpoints/step-0000009/weights.bin")).close();
        assertEquals(3, store.latestValid().orElseThrow().step());
        // every write published its temporary directory (named .tmp-step-NNNNNNN-<uuid>): none is left behind
        for (org.apache.hadoop.fs.FileStatus st : fs.listStatus(new Path(run, "checkpoints")))
            assertFalse(st.getPath().getName().startsWith(".tmp-"), "left behind: " + st.getPath());
        assertEquals(4, fs.listStatus(new Path(run, "checkpoints")).length, "steps 4, 3, 2 and the unpublished 9");
    }
}
