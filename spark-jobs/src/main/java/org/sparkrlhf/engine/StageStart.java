package org.sparkrlhf.engine;

import java.io.Serializable;

/**
 * A supervised trainer's state at a stage boundary, as every rank receives it at the start and
 * rank 0 returns it at the end: the model and optimizer, and the skip counters. {@code position}
 * (optimizer steps plus skipped steps, the data cursor) names the state: a rank whose resident
 * replica is already there needs none of the bytes.
 */
record StageStart(long position, ReplicaState model, long skippedTotal, long badInARow) implements Serializable {}
