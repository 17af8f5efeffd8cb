package org.sparkrlhf.cluster;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.sparkrlhf.config.ConfigLoader;
import org.sparkrlhf.config.JobConfig;
import picocli.CommandLine;

/** Deployment files' job arguments checked against the real job: its command line, then its config keys. */
final class JobArguments {
    private JobArguments() {}

    /**
     * Parses {@code args} with {@code mainClass}'s own picocli command (unknown options throw) and lays
     * its {@code --set} overrides over the job defaults (unknown keys or bad values throw). The
     * {@code --config} file itself lives on the cluster, so only its presence is checked.
     */
    static JobConfig accepted(String mainClass, List<String> args, String where) throws Exception {
        Object job = Class.forName(mainClass).getDeclaredConstructor().newInstance();
        CommandLine.ParseResult parsed = new CommandLine(job).parseArgs(args.toArray(String[]::new));
        assertTrue(parsed.hasMatchedOption("--config"), where + ": the job reads its config file");
        return ConfigLoader.load(JobConfig.class, "defaults.yaml", (String) null, parsed.matchedOptionValue("--set", List.<String>of()));
    }
}
