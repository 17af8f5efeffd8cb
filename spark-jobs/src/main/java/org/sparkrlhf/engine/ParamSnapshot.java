package org.sparkrlhf.engine;

import java.io.Serializable;
import org.sparkrlhf.model.GptConfig;

/**
 * The driver's parameters at one version, as executors receive them (one broadcast per step).
 * Little-endian float bytes: Java serialization writes a byte[] in one copy, a float[] element by element.
 */
record ParamSnapshot(String runId, long version, GptConfig config, byte[] values) implements Serializable {}
