package org.sparkrlhf.engine;

import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.optim.AdamW;
import org.sparkrlhf.tensor.DType;

/** A trained model on a rank: the model, its gradient buffer and its AdamW replica. */
final class Replica {
    final Gpt model;
    final Parameters grads;
    final AdamW optimizer;

    Replica(ReplicaState s) {
        model = Gpt.init(s.config(), DType.FLOAT32, 0);
        grads = model.newTrainableGradients(); // everything, or with LoRA the adapters and heads
        optimizer = new AdamW(s.optimizer(), model.trainable().layout(), DType.FLOAT32);
        s.loadInto(model, optimizer);
    }

    /** Values in the gradient the ranks sum. */
    int size() {
        return grads.flat().size();
    }

    ReplicaState state() {
        return ReplicaState.of(model, optimizer);
    }
}
