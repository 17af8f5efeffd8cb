package org.sparkrlhf.training;

import java.io.Serializable;
import java.util.List;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.Parameters;

/**
 * A training loss over examples of type E, as a sum (not a mean) so that gradients from any split of
 * a global batch add up to the same total; whoever applies the update divides by
 * {@link StepStats#count()}. Implementations run micro-batches of at most {@code microBatch}
 * examples through the model and add their gradients into {@code grads}.
 */
public interface Objective<E> extends Serializable {
    StepStats accumulate(Gpt model, List<E> examples, int microBatch, Parameters grads);

    /** The loss without gradients (evaluation). */
    StepStats evaluate(Gpt model, List<E> examples, int microBatch);
}
