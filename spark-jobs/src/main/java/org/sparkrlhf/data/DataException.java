package org.sparkrlhf.data;

/** Input data that cannot be used as it is (missing, or too much of it malformed). */
public final class DataException extends RuntimeException {
    public DataException(String message) {
        super(message);
    }
}
