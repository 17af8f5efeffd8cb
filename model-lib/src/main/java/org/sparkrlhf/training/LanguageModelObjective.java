package org.sparkrlhf.training;

import java.util.List;
import org.sparkrlhf.loss.LanguageModelLoss;
import org.sparkrlhf.model.Forward;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.tensor.Tensor;

/** Next-token cross-entropy summed over target tokens: pre-training and SFT. */
public final class LanguageModelObjective implements Objective<LmExample> {
    @Override
    public StepStats accumulate(Gpt model, List<LmExample> examples, int microBatch, Parameters grads) {
        return run(model, examples, microBatch, grads);
    }

    @Override
    public StepStats evaluate(Gpt model, List<LmExample> examples, int microBatch) {
        return run(model, examples, microBatch, null);
    }

    private StepStats run(Gpt model, List<LmExample> examples, int microBatch, Parameters grads) {
        long t0 = System.nanoTime();
        double loss = 0, count = 0;
        int v = model.config().vocabSize();
        for (int from = 0; from < examples.size(); from += microBatch) {
            LmMicroBatch mb = LmMicroBatch.of(examples.subList(from, Math.min(examples.size(), from + microBatch)));
            if (mb.count() == 0) continue;
            Forward f = model.forward(mb.batch());
            // the logits become their own gradient (the loss reads each row before writing it): no second [n, V] buffer
            Tensor d = grads != null ? f.logits() : null;
            loss += LanguageModelLoss.crossEntropy(f.logits(), v, mb.targets(), mb.weights(), 1.0, d);
            count += mb.count();
            if (grads != null) model.backward(f, d, null, null, grads);
        }
        return new StepStats(loss, count, Double.NaN, System.nanoTime() - t0); // no pairs: accuracy undefined
    }
}
