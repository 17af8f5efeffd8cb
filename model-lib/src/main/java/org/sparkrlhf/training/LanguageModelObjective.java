package org.sparkrlhf.training;

import java.util.List;
import org.sparkrlhf.loss.LanguageModelLoss;
import org.sparkrlhf.model.Batch;
import org.sparkrlhf.model.Forward;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.tensor.Tensor;

/** Next-token cross-entropy summed over target tokens: pre-training and SFT. */
public final class LanguageModelObjective implements Objective<LmExample> {
    /** d loss / d logits, reused across micro-batches: direct buffers are costly to allocate and free. */
    private transient Tensor dLogits;

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
            List<LmExample> mb = examples.subList(from, Math.min(examples.size(), from + microBatch));
            int len = 0;
            for (LmExample e : mb) len = Math.max(len, e.tokens().length - 1);
            int bsz = mb.size(), n = bsz * len;
            int[] inputs = new int[n], targets = new int[n], start = new int[bsz], end = new int[bsz];
            double[] weights = new double[n];
            double mbCount = 0;
            for (int b = 0; b < bsz; b++) {
                LmExample e = mb.get(b);
                end[b] = e.tokens().length - 1; // right padding after it
                for (int i = 0; i < end[b]; i++) {
                    inputs[b * len + i] = e.tokens()[i];
                    targets[b * len + i] = e.tokens()[i + 1];
                    if (e.target()[i + 1]) {
                        weights[b * len + i] = 1;
                        mbCount++;
                    }
                }
            }
            if (mbCount == 0) continue;
            Forward f = model.forward(new Batch(inputs, bsz, len, start, end));
            Tensor d = null;
            if (grads != null) {
                if (dLogits == null || dLogits.size() < n * v || dLogits.dtype() != model.parameters().dtype())
                    dLogits = Tensor.zeros(model.parameters().dtype(), n * v);
                d = dLogits.size() == n * v ? dLogits : dLogits.slice(0, n * v);
            }
            loss += LanguageModelLoss.crossEntropy(f.logits(), v, targets, weights, 1.0, d);
            count += mbCount;
            if (grads != null) model.backward(f, d, null, null, grads);
        }
        return new StepStats(loss, count, Double.NaN, System.nanoTime() - t0); // no pairs: accuracy undefined
    }
}
