package org.sparkrlhf.jobs;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** Small text files a command's options name (guidelines, a constitution), on any Hadoop file system. */
public final class OptionFiles {
    private OptionFiles() {}

    /** The UTF-8 text of {@code file}, which {@code option} named; a missing file is the user's mistake, named by the option. */
    public static String read(FileSystem fs, Path file, String option) throws IOException {
        if (!fs.exists(file)) throw new OptionException(option + " " + file + " does not exist");
        try (InputStream in = fs.open(file)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
