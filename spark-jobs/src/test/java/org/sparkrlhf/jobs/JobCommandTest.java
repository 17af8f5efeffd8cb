package org.sparkrlhf.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Command-line mistakes end with one clear line and exit code 2, before Spark starts. */
class JobCommandTest {

    private static String run(String... args) {
        PrintStream old = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true));
        try {
            assertEquals(2, new CommandLine(new PretrainJob()).execute(args));
        } finally {
            System.setErr(old);
        }
        return err.toString();
    }

    @Test
    void unknownKeyAndMissingConfigFileAreOneLineErrors() {
        String unknown = run("--set", "train.lrr=1");
        assertTrue(unknown.startsWith("error: unknown config key 'train.lrr'") && !unknown.contains("\tat "), unknown);
        String missing = run("--config", "/no/such/job.yaml");
        assertTrue(missing.contains("error: config file not found: /no/such/job.yaml") && !missing.contains("\tat "), missing);
    }
}
