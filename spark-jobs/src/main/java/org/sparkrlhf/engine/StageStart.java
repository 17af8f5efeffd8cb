package org.sparkrlhf.engine;

import java.io.Serializable;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.optim.AdamW;

/**
 * Where a training stage begins, as every rank receives it: the parameters, the optimizer's
 * moments and step, and the skip counters (arrays as little-endian float bytes, which Java
 * serialization writes in one copy). {@code position} (optimizer steps plus skipped steps, the data
 * cursor) names the state: a rank whose resident replica is already there needs none of the bytes.
 */
record StageStart(String runId, long position, GptConfig config, AdamW.Config optimizer, byte[] parameters, byte[] firstMoment,
                  byte[] secondMoment, long optimizerStep, long skippedTotal, long badInARow) implements Serializable {}
