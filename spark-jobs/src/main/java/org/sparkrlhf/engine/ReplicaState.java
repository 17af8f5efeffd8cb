package org.sparkrlhf.engine;

import java.io.Serializable;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.optim.AdamW;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tensor.Tensor;

/**
 * A trained model's state as it crosses between driver and ranks: shape, parameters, the
 * optimizer's settings, moments and step (arrays as little-endian float bytes, which Java
 * serialization writes in one copy).
 */
record ReplicaState(GptConfig config, AdamW.Config optimizer, byte[] parameters, byte[] firstMoment, byte[] secondMoment, long optimizerStep)
        implements Serializable {

    static ReplicaState of(Gpt model, AdamW optimizer) {
        return new ReplicaState(model.config(), optimizer.config(), model.parameters().flat().toFloatBytes(), optimizer.firstMoment().toFloatBytes(),
                optimizer.secondMoment().toFloatBytes(), optimizer.stepCount());
    }

    /** Puts the parameters into {@code model} and the moments and step into {@code optimizer}. */
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
