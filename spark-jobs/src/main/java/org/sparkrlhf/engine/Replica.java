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
        grads = model.newGradients();
        optimizer = new AdamW(s.optimizer(), model.parameters().layout(), DType.FLOAT32);
        s.loadInto(model, optimizer);
    }

    int size() {
        return model.parameters().flat().size();
    }

    ReplicaState state() {
        return ReplicaState.of(model, optimizer);
    }
}
