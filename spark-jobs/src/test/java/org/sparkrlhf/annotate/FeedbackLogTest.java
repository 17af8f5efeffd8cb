package org.sparkrlhf.annotate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.sparkrlhf.engine.MiniHdfs;

/** The feedback log on local files and on HDFS: synced before acknowledged, each submission once, restarts and torn lines. */
class FeedbackLogTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    static MiniDFSCluster hdfs;
    @TempDir
    static java.nio.file.Path local;

    @BeforeAll
    static void start() throws Exception {
        hdfs = MiniHdfs.start();
    }

    @AfterAll
    static void stop() {
        if (hdfs != null) hdfs.shutdown();
    }

    static Stream<String> roots() {
        return Stream.of(local.toUri().toString(), hdfs.getURI() + "/feedback");
    }

    static ObjectNode ranking(String id, String annotator) {
        ObjectNode o = JSON.createObjectNode().put("prompt", "Say something.").put("annotator", annotator).put(FeedbackLog.ID, id);
        o.putArray("responses").add("a").add("b").add("c");
        o.putArray("ranking").add(2).add(0).add(1);
        return o;
    }

    static List<String> lines(FileSystem fs, Path dir) throws Exception {
        List<String> out = new ArrayList<>();
        for (FileStatus s : fs.listStatus(dir))
            try (InputStream in = fs.open(s.getPath())) {
                for (String l : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) if (!l.isBlank()) out.add(l);
            }
        return out;
    }

    @ParameterizedTest
    @MethodSource("roots")
    void eachSubmissionIsStoredOnceAndIsReadableBeforeTheWriterCloses(String root) throws Exception {
        Path dir = new Path(root, "once");
        FileSystem fs = dir.getFileSystem(new Configuration());
        try (FeedbackLog log = FeedbackLog.open(fs, dir)) {
            assertEquals(FeedbackLog.Outcome.STORED, log.append(ranking("s-1", "alice")));
            assertEquals(FeedbackLog.Outcome.DUPLICATE, log.append(ranking("s-1", "alice")), "a double-clicked submit");
            // what was acknowledged is already on the file system: a second reader sees it while the writer is still open
            assertEquals(1, lines(FileSystem.newInstance(dir.toUri(), new Configuration()), dir).size());
            assertEquals(FeedbackLog.Outcome.STORED, log.append(ranking("s-2", "bob")));
            assertThrows(IllegalArgumentException.class, () -> log.append(ranking("", "bob")));
        }
        // a restarted server: the ids are known, a resent submission is not stored again, new ones go to a new file
        try (FeedbackLog log = FeedbackLog.open(fs, dir)) {
            assertEquals(2, log.size());
            assertEquals(FeedbackLog.Outcome.DUPLICATE, log.append(ranking("s-2", "bob")));
            assertEquals(FeedbackLog.Outcome.STORED, log.append(ranking("s-3", "carol")));
        }
        List<String> all = lines(fs, dir);
        assertEquals(3, all.size());
        assertEquals(2, fs.listStatus(dir).length, "one file per opening");
        assertEquals("[2,0,1]", JSON.readTree(all.get(0)).get("ranking").toString(), "the reward job's ranking record, as written");
    }

    @ParameterizedTest
    @MethodSource("roots")
    void aLineCutOffByACrashIsSkippedAndCountedAndAnythingElseIsAnError(String root) throws Exception {
        Path dir = new Path(root, "torn");
        FileSystem fs = dir.getFileSystem(new Configuration());
        try (FeedbackLog log = FeedbackLog.open(fs, dir)) {
            log.append(ranking("s-1", "alice"));
        }
        try (FSDataOutputStream o = fs.create(new Path(dir, "part-1-crashed.jsonl"))) { // a server killed mid-write
            o.write((JSON.writeValueAsString(ranking("s-9", "dave")) + "\n{\"prompt\": \"Say").getBytes(StandardCharsets.UTF_8));
        }
        try (FeedbackLog log = FeedbackLog.open(fs, dir)) {
            assertEquals(1, log.tornLines());
            assertTrue(log.contains("s-1") && log.contains("s-9") && log.size() == 2, "the whole lines before it count");
        }
        try (FSDataOutputStream o = fs.create(new Path(dir, "notes.jsonl"))) {
            o.write("{\"hello\": 1}\n".getBytes(StandardCharsets.UTF_8));
        }
        java.io.IOException e = assertThrows(java.io.IOException.class, () -> FeedbackLog.open(fs, dir));
        assertTrue(e.getMessage().contains("notes.jsonl, line 1") && e.getMessage().contains("submission_id"), e.getMessage());
    }

    @ParameterizedTest
    @MethodSource("roots")
    void concurrentSubmitsAndRetriesStoreEachIdExactlyOnce(String root) throws Exception {
        Path dir = new Path(root, "concurrent");
        FileSystem fs = dir.getFileSystem(new Configuration());
        ExecutorService pool = Executors.newFixedThreadPool(8);
        int stored = 0;
        try (FeedbackLog log = FeedbackLog.open(fs, dir)) {
            List<Future<FeedbackLog.Outcome>> results = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                String id = "s-" + (i % 50); // each submission sent four times
                results.add(pool.submit(() -> log.append(ranking(id, "annotator-" + id))));
            }
            for (Future<FeedbackLog.Outcome> f : results) if (f.get() == FeedbackLog.Outcome.STORED) stored++;
        } finally {
            pool.shutdown();
        }
        assertEquals(50, stored);
        Set<String> ids = new HashSet<>();
        for (String l : lines(fs, dir)) assertTrue(ids.add(JSON.readTree(l).get(FeedbackLog.ID).asText()), "stored once: " + l);
        assertEquals(50, ids.size());
    }
}
