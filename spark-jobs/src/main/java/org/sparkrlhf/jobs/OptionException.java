package org.sparkrlhf.jobs;

/** A command-line option the user got wrong (a missing partner option, a bad value, an existing --out); the message names the fix. */
public final class OptionException extends IllegalArgumentException {
    public OptionException(String message) {
        super(message);
    }
}
