package org.sparkrlhf.engine;

import java.io.Serializable;
import org.sparkrlhf.training.StepStats;

/** One partition's summed gradient and statistics for one step. */
record ShardResult(int partition, float[] gradient, StepStats stats) implements Serializable {}
