package org.sparkrlhf.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The load benchmark runs end to end (briefly) and its exactly-once check holds; its figures come from the command, not from here. */
class AnnotateBenchmarkTest {
    @Test
    void shortRunStoresEveryAcknowledgedSubmissionOnce(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream old = System.out;
        System.setOut(new PrintStream(buf, true));
        int code;
        try {
            code = new CommandLine(new AnnotateBenchmark()).execute("--annotators", "3", "--seconds", "2", "--resend", "0.3", "--dir", dir.toUri().toString(), "--json");
        } finally {
            System.setOut(old);
        }
        assertEquals(0, code, buf.toString());
        String[] lines = buf.toString().strip().split("\n");
        JsonNode run = new ObjectMapper().readTree(lines[lines.length - 1]).get("runs").get(0);
        assertTrue(run.get("exactly_once").asBoolean(), run.toString());
        assertTrue(run.get("acknowledged").asInt() > 10 && run.get("resent").asInt() > 0, run.toString());
        assertEquals(run.get("acknowledged").asInt(), run.get("stored").asInt());
    }
}
