package org.sparkrlhf.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tensor.Tensor;
import org.sparkrlhf.tokenizer.Tokenizers;

/**
 * {@code rlhf chat} in a real pseudo-terminal (Python's pty drives it as a person would), on a model
 * whose answers are known: its final LayerNorm ignores the input, so every logit row is the same and
 * greedy decoding says "xxxxxxxxxxxx" (12 tokens, the limit). The streamed answers, settings,
 * dropped history, /reset and Ctrl-D are checked on what the terminal showed.
 */
class ChatCommandTest {

    static Path knownAnswerModel(Path dir) throws Exception {
        GptConfig c = GptConfig.of(257, 64, 16, 2, 1);
        Gpt g = Gpt.init(c, DType.FLOAT32, 5);
        g.parameters().get("ln_f.weight").fill(0);
        Tensor b = g.parameters().get("ln_f.bias");
        b.fill(0);
        b.set(0, 1.0); // every position's final state is e_0
        Tensor wte = g.parameters().get("wte.weight");
        for (int tok = 0; tok < c.vocabSize(); tok++) wte.set(tok * c.dModel(), tok == 'x' ? 5.0 : 0.0); // logit = wte[tok][0]
        return GenerateCommandTest.checkpoint(dir, g, null);
    }

    @Test
    void aConversationThroughAPseudoTerminal(@TempDir Path dir) throws Exception {
        boolean python;
        try {
            python = new ProcessBuilder("python3", "-c", "import pty").start().waitFor() == 0;
        } catch (java.io.IOException e) {
            python = false;
        }
        assumeTrue(python, "skipped: no python3 with the pty module to drive a pseudo-terminal");
        Path model = knownAnswerModel(dir.resolve("m"));
        Path script = Path.of("src/test/resources/chat_pty.py").toAbsolutePath();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder("python3", script.toString(), java, System.getProperty("java.class.path"), model.toString())
                .redirectErrorStream(false).start();
        byte[] outBytes = p.getInputStream().readAllBytes();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(180, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), "driver failed: " + err);
        JsonNode t = new ObjectMapper().readTree(outBytes);
        JsonNode steps = t.get("steps");
        String first = steps.get(0).get("shown").asText();
        assertTrue(first.contains("bot> xxxxxxxxxxxx\r\n"), first); // streamed, then the line ends
        assertTrue(steps.get(1).get("shown").asText().contains("(temperature = 0.5)"), steps.get(1).toString());
        assertTrue(steps.get(2).get("shown").asText().contains("(not changed: topP must be in (0, 1]"), steps.get(2).toString());
        String longer = steps.get(4).get("shown").asText();
        assertTrue(longer.contains("(dropped the 1 oldest turn(s): the conversation no longer fits the model's context of 64 tokens"), longer);
        assertTrue(longer.contains("bot> xxxxxxxxxxxx"), longer);
        assertTrue(steps.get(5).get("shown").asText().contains("(history cleared)"), steps.get(5).toString());
        assertTrue(!steps.get(6).get("shown").asText().contains("dropped"), "after /reset the history is empty again");
        assertTrue(t.get("end").asText().contains("bye"), t.toString());
        assertEquals(0, t.get("exit").asInt());
    }

    /** Streaming holds back half a UTF-8 character: a two-byte character arriving as two byte tokens prints once, whole. */
    @Test
    void streamingNeverPrintsHalfACharacter() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        ChatCommand.StreamingText s = new ChatCommand.StreamingText(Tokenizers.create("bytes"), out);
        byte[] e = "é!".getBytes(StandardCharsets.UTF_8);
        s.add(e[0] & 0xff);
        assertEquals("", bytes.toString(StandardCharsets.UTF_8), "the first byte of é alone prints nothing");
        s.add(e[1] & 0xff);
        assertEquals("é", bytes.toString(StandardCharsets.UTF_8));
        s.add(e[2] & 0xff);
        s.finish();
        assertEquals("é!", bytes.toString(StandardCharsets.UTF_8));
    }
}
