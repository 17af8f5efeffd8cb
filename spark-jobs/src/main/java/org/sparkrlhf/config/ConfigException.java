package org.sparkrlhf.config;

/** A configuration mistake, reported before any work starts. */
public final class ConfigException extends RuntimeException {
    public ConfigException(String message) {
        super(message);
    }
}
