package org.sparkrlhf.annotate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkrlhf.jobs.UserErrors;
import picocli.CommandLine;

/** {@code rlhf annotate}'s mistakes a user can fix: exit code 2 and one line naming the option, before any server starts. */
class AnnotateCommandTest {

    /** Runs the command with {@code args}; returns {exit code, what it wrote to stderr}. */
    private static Object[] run(String... args) {
        PrintStream err = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            int code = new CommandLine(new AnnotateCommand()).execute(args);
            return new Object[]{code, buf.toString(StandardCharsets.UTF_8)};
        } finally {
            System.setErr(err);
        }
    }

    private static void refused(String expected, String... args) {
        Object[] r = run(args);
        String err = (String) r[1];
        assertEquals(UserErrors.EXIT_CODE, r[0], err);
        // one line, after whatever the libraries log on their way in
        java.util.List<String> lines = err.lines().filter(l -> l.startsWith("error: ")).toList();
        assertEquals(1, lines.size(), err);
        assertTrue(lines.get(0).contains(expected), err);
        assertFalse(err.contains("\tat "), "no stack trace without --verbose: " + err);
    }

    @Test
    void wrongOptionsNameTheOption(@TempDir Path dir) throws Exception {
        String out = dir.resolve("feedback").toString(), gen = RoundFixture.generated(dir.resolve("gen"), 3, 2, null).toString();
        refused("give either --policy (with --prompts)", "--out", out);
        refused("--policy needs --prompts", "--out", out, "--policy", "model.safetensors");
        refused("--port must be 0..65535, got 70000", "--out", out, "--from-generated", gen, "--port", "70000");
        refused("--responses must be 2..9", "--out", out, "--from-generated", gen, "--responses", "12");
        refused("temperature must be a finite number >= 0 (0 = greedy), got -1.0 (set by --temperature, --top-p and --max-new-tokens)", "--out", out,
                "--from-generated", gen, "--temperature", "-1");
        refused("missing.txt does not exist", "--out", out, "--from-generated", gen, "--guidelines", dir.resolve("missing.txt").toString());
        // the generate job's output is checked against the options that read it
        refused("--from-generated " + dir.resolve("nowhere").toUri().getPath().replaceAll("/$", "") + " does not exist (give a generate job's --out directory)",
                "--out", out, "--from-generated", dir.resolve("nowhere").toString());
        refused("has 2 samples but --responses is 4 (generate with --samples 4 or more)", "--out", out, "--from-generated", gen);
        refused("--annotators: annotator name 'ai:judge': use 1-40 letters, digits, '.', '_' or '-' ('ai:' names are kept for AI labels)", "--out", out, "--from-generated", gen, "--responses", "2",
                "--annotators", "ai:judge");
    }
}
