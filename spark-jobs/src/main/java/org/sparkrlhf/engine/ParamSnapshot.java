package org.sparkrlhf.engine;

import java.io.Serializable;
import org.sparkrlhf.model.GptConfig;

/** The driver's parameters at one version, as executors receive them (one broadcast per step). */
record ParamSnapshot(String runId, long version, GptConfig config, float[] values) implements Serializable {}
