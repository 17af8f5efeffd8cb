package org.sparkrlhf.engine;

/** Too many non-finite gradients in a row: the run stops instead of training on garbage. */
public final class TrainingDiverged extends RuntimeException {
    public TrainingDiverged(String message) {
        super(message);
    }
}
