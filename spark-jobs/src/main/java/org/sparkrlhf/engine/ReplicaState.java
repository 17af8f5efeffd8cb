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

    /** The state of a rank's GPU replica (copied off the device). */
    static ReplicaState of(org.sparkrlhf.cuda.CudaReplica gpu, GptConfig config, AdamW.Config optimizer) {
        return new ReplicaState(config, optimizer, gpu.parameters().flat().toFloatBytes(), gpu.firstMoment().toFloatBytes(),
                gpu.secondMoment().toFloatBytes(), gpu.stepCount());
    }

    /** A GPU replica on device {@code ordinal} holding this state. */
    org.sparkrlhf.cuda.CudaReplica openOnGpu(int ordinal) {
        org.sparkrlhf.model.Parameters p = hostParameters();
        org.sparkrlhf.cuda.CudaReplica r = org.sparkrlhf.cuda.CudaReplica.open(ordinal, config, optimizer, p);
        r.load(p, optimizerStep, tensor(firstMoment), tensor(secondMoment));
        return r;
    }

    /** Puts this state on {@code gpu} (whose thread is already bound to its device). */
    void loadInto(org.sparkrlhf.cuda.CudaReplica gpu) {
        gpu.load(hostParameters(), optimizerStep, tensor(firstMoment), tensor(secondMoment));
    }

    private org.sparkrlhf.model.Parameters hostParameters() {
        return new org.sparkrlhf.model.Parameters(org.sparkrlhf.model.ParameterLayout.of(config), tensor(parameters));
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
