package org.sparkrlhf.rundir;

/** The run directory cannot be used as asked (in use, holds another run, incompatible resume, not writable); the message names the fix. */
public final class RunDirectoryException extends RuntimeException {
    public RunDirectoryException(String message) {
        super(message);
    }
}
