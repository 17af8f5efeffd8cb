package org.sparkrlhf.jobs;

/** A model file a config key names is missing, corrupt or of another shape; the message names the key, the file and the fix. */
public final class ModelFileException extends RuntimeException {
    public ModelFileException(String message) {
        super(message);
    }
}
