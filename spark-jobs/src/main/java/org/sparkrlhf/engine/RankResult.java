package org.sparkrlhf.engine;

import java.io.Serializable;
import java.util.List;

/**
 * What a rank returns from a stage: a digest of its parameters (every rank's must match: replicas
 * stay identical bit for bit), and, from rank 0 only, the state at the stage's end and the
 * stage's step reports; {@code diverged} says why the ranks stopped early (too many non-finite
 * steps), else null.
 */
record RankResult(int rank, String parameterDigest, StageStart end, List<StepReport> steps, String diverged) implements Serializable {}
