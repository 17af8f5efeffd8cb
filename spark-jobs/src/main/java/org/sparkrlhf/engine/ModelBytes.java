package org.sparkrlhf.engine;

import java.io.Serializable;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.tensor.DType;

/** A model as executors receive it in a broadcast: its config and its parameters as float32 bytes. */
public record ModelBytes(GptConfig config, byte[] values) implements Serializable {

    /** The model's bytes, or null for no model. */
    public static ModelBytes of(Gpt model) {
        return model == null ? null : new ModelBytes(model.config(), model.parameters().flat().toFloatBytes());
    }

    /** A fresh float32 model holding these parameters. */
    public Gpt model() {
        Gpt m = Gpt.init(config, DType.FLOAT32, 0);
        m.parameters().flat().copyFromFloatBytes(values);
        return m;
    }
}
