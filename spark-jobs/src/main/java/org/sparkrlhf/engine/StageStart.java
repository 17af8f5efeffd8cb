package org.sparkrlhf.engine;

import java.io.Serializable;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.optim.AdamW;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tensor.Tensor;

/**
 * A replica's state at a stage boundary, as every rank receives it at the start and rank 0 returns
 * it at the end: the parameters, the optimizer's moments and step, and the skip counters (arrays as
 * little-endian float bytes, which Java serialization writes in one copy). {@code position}
 * (optimizer steps plus skipped steps, the data cursor) names the state: a rank whose resident
 * replica is already there needs none of the bytes.
 */
record StageStart(String runId, long position, GptConfig config, AdamW.Config optimizer, byte[] parameters, byte[] firstMoment,
                  byte[] secondMoment, long optimizerStep, long skippedTotal, long badInARow) implements Serializable {

    /** The state of {@code model} and {@code optimizer}, with the skip counters. */
    static StageStart of(String runId, Gpt model, AdamW optimizer, long skippedTotal, long badInARow) {
        return new StageStart(runId, optimizer.stepCount() + skippedTotal, model.config(), optimizer.config(), model.parameters().flat().toFloatBytes(),
                optimizer.firstMoment().toFloatBytes(), optimizer.secondMoment().toFloatBytes(), optimizer.stepCount(), skippedTotal, badInARow);
    }

    /** Puts the parameters into {@code model} and the moments and step into {@code optimizer} (the counters are the caller's). */
    void loadInto(Gpt model, AdamW optimizer) {
        model.parameters().flat().copyFromFloatBytes(parameters);
        optimizer.restore(optimizerStep, tensor(firstMoment), tensor(secondMoment));
    }

    private static Tensor tensor(byte[] floats) {
        Tensor t = Tensor.zeros(DType.FLOAT32, floats.length / 4);
        t.copyFromFloatBytes(floats);
        return t;
    }
}
