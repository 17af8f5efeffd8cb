package org.sparkrlhf.jobs;

import java.io.PrintStream;
import java.util.List;
import org.sparkrlhf.config.ConfigException;
import org.sparkrlhf.data.DataException;
import org.sparkrlhf.rundir.RunDirectoryException;

/**
 * How a command ends on a mistake the user can fix (config, data, model files, run directory, options):
 * one line on stderr that names the place and the fix, and exit code 2; the stack trace only with
 * {@code --verbose}. Anything else is a bug and keeps its stack trace.
 */
public final class UserErrors {
    private UserErrors() {}

    public static final int EXIT_CODE = 2;

    private static final List<Class<? extends RuntimeException>> TYPES =
            List.of(ConfigException.class, DataException.class, RunDirectoryException.class, ModelFileException.class, OptionException.class);

    /** The user's mistake behind {@code e}, which may arrive wrapped (a Spark task's failure), or null for a bug. */
    static RuntimeException find(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause())
            for (Class<? extends RuntimeException> c : TYPES)
                if (c.isInstance(t)) return c.cast(t);
        return null;
    }

    /** Reports a user's mistake and returns the exit code; rethrows anything else. */
    public static int report(Exception e, boolean verbose, PrintStream err) throws Exception {
        RuntimeException mistake = find(e);
        if (mistake == null) throw e;
        err.println("error: " + mistake.getMessage().replace('\n', ' '));
        if (verbose) e.printStackTrace(err);
        return EXIT_CODE;
    }
}
