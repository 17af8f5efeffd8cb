package org.sparkrlhf.collective;

/** A collective could not complete: a peer stopped answering, closed its connection, or sent something else; the message names the peer. */
public final class CollectiveException extends RuntimeException {
    public CollectiveException(String message, Throwable cause) {
        super(message, cause);
    }

    public CollectiveException(String message) {
        super(message);
    }
}
