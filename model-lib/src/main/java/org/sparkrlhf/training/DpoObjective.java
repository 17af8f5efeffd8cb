package org.sparkrlhf.training;

import java.util.List;
import org.sparkrlhf.loss.LanguageModelLoss;
import org.sparkrlhf.loss.Softmax;
import org.sparkrlhf.model.Batch;
import org.sparkrlhf.model.Forward;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.preference.DpoLoss;
import org.sparkrlhf.tensor.Tensor;

/**
 * DPO's loss summed over comparisons: each micro-batch runs the chosen and rejected sequences of its
 * pairs through the policy together, sums each response's log-probabilities, and sends the loss's
 * derivative by that sum back as per-token weights on the response's log-probabilities (the gradient
 * of a weighted cross-entropy with weight -dLoss/dSum). {@link StepStats#correct()} counts pairs
 * whose implicit reward prefers the chosen response; {@link #evaluate(Gpt, List, int, double[])} reports the margins themselves.
 */
public final class DpoObjective implements Objective<DpoPair> {
    private final DpoLoss.Settings settings;

    public DpoObjective(DpoLoss.Settings settings) {
        this.settings = settings;
    }

    @Override
    public StepStats accumulate(Gpt model, List<DpoPair> pairs, int microBatch, Parameters grads) {
        return run(model, pairs, microBatch, grads, null);
    }

    @Override
    public StepStats evaluate(Gpt model, List<DpoPair> pairs, int microBatch) {
        return run(model, pairs, microBatch, null, null);
    }

    /** {@link #evaluate}, also writing beta x h for each pair (the implicit reward margin) into {@code margins}, in order. */
    public StepStats evaluate(Gpt model, List<DpoPair> pairs, int microBatch, double[] margins) {
        if (margins.length != pairs.size()) throw new IllegalArgumentException("need one margin slot per pair: " + pairs.size() + ", got " + margins.length);
        return run(model, pairs, microBatch, null, margins);
    }

    private StepStats run(Gpt model, List<DpoPair> pairs, int microBatch, Parameters grads, double[] margins) {
        long t0 = System.nanoTime();
        double loss = 0, correct = 0;
        int per = Math.max(1, microBatch / 2); // two sequences per pair
        for (int from = 0; from < pairs.size(); from += per) {
            List<DpoPair> mb = pairs.subList(from, Math.min(pairs.size(), from + per));
            Seqs s = Seqs.of(mb);
            Forward f = model.forward(s.batch);
            double[] sums = responseLogProbs(f.logits(), model.config().vocabSize(), s);
            double[] weights = new double[s.targets.length];
            for (int i = 0; i < mb.size(); i++) {
                DpoPair p = mb.get(i);
                DpoLoss.Result r = DpoLoss.of(sums[2 * i], sums[2 * i + 1], p.refChosen(), p.refRejected(), settings);
                loss += r.loss();
                if (r.margin() > 0) correct++;
                if (margins != null) margins[from + i] = settings.beta() * r.margin();
                s.weigh(weights, 2 * i, -r.dChosen());
                s.weigh(weights, 2 * i + 1, -r.dRejected());
            }
            if (grads != null) {
                LanguageModelLoss.crossEntropy(f.logits(), model.config().vocabSize(), s.targets, weights, 1.0, f.logits());
                model.backward(f, f.logits(), null, null, grads);
            }
        }
        return new StepStats(loss, pairs.size(), correct, System.nanoTime() - t0);
    }

    /** Each sequence's summed log-probability of its response tokens. */
    private static double[] responseLogProbs(Tensor logits, int v, Seqs s) {
        double[] out = new double[s.batch.batchSize()];
        for (int b = 0; b < out.length; b++)
            for (int row = s.from[b]; row < s.to[b]; row++) {
                int off = row * v;
                out[b] += logits.get(off + s.targets[row]) - Softmax.logSumExp(logits, off, v);
            }
        return out;
    }

    /**
     * The reference model's summed response log-probabilities for each pair: computed once, before
     * training, and kept in the data (see {@link DpoPair#withReference}).
     */
    public static double[][] referenceLogProbs(Gpt reference, List<DpoPair> pairs, int microBatch) {
        double[][] out = new double[pairs.size()][2];
        int per = Math.max(1, microBatch / 2);
        for (int from = 0; from < pairs.size(); from += per) {
            List<DpoPair> mb = pairs.subList(from, Math.min(pairs.size(), from + per));
            Seqs s = Seqs.of(mb);
            double[] sums = responseLogProbs(reference.forward(s.batch).logits(), reference.config().vocabSize(), s);
            for (int i = 0; i < mb.size(); i++) out[from + i] = new double[] {sums[2 * i], sums[2 * i + 1]};
        }
        return out;
    }

    /** A micro-batch's sequences (chosen, rejected, chosen, ...) right-padded, and the rows that predict response tokens. */
    private record Seqs(Batch batch, int[] targets, int[] from, int[] to) {
        static Seqs of(List<DpoPair> pairs) {
            int n = pairs.size() * 2, len = 0;
            int[][] seqs = new int[n][];
            int[] prompt = new int[n];
            for (int i = 0; i < pairs.size(); i++) {
                seqs[2 * i] = pairs.get(i).chosen();
                seqs[2 * i + 1] = pairs.get(i).rejected();
                prompt[2 * i] = prompt[2 * i + 1] = pairs.get(i).promptLength();
            }
            for (int[] q : seqs) len = Math.max(len, q.length - 1);
            int[] tokens = new int[n * len], targets = new int[n * len], start = new int[n], end = new int[n], from = new int[n], to = new int[n];
            for (int b = 0; b < n; b++) {
                end[b] = seqs[b].length - 1;
                for (int i = 0; i < end[b]; i++) {
                    tokens[b * len + i] = seqs[b][i];
                    targets[b * len + i] = seqs[b][i + 1];
                }
                from[b] = b * len + prompt[b] - 1; // the row whose next token is the response's first
                to[b] = b * len + end[b];
            }
            return new Seqs(new Batch(tokens, n, len, start, end), targets, from, to);
        }

        void weigh(double[] weights, int b, double w) {
            for (int row = from[b]; row < to[b]; row++) weights[row] = w;
        }
    }
}
