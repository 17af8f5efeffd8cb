package org.sparkrlhf.engine;

import java.io.Serializable;
import org.sparkrlhf.training.StepStats;

/** One partition's summed gradient (little-endian float bytes, see {@link ParamSnapshot}) and statistics for one step. */
record ShardResult(int partition, byte[] gradient, StepStats stats) implements Serializable {}
