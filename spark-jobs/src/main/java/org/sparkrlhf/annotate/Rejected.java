package org.sparkrlhf.annotate;

/** A request the app refuses, with the HTTP status and a message that says why and what to do. */
final class Rejected extends Exception {
    final int status;

    Rejected(int status, String message) {
        super(message);
        this.status = status;
    }
}
