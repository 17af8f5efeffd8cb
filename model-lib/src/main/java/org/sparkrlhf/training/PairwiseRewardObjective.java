package org.sparkrlhf.training;

import java.util.List;
import org.sparkrlhf.model.Batch;
import org.sparkrlhf.model.Forward;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.preference.BradleyTerryLoss;
import org.sparkrlhf.tensor.Tensor;

/**
 * Bradley-Terry loss summed over pairs: each micro-batch scores chosen and rejected sequences in
 * one forward pass of the reward model (read at each sequence's last token).
 */
public final class PairwiseRewardObjective implements Objective<PreferencePair> {

    @Override
    public StepStats accumulate(Gpt model, List<PreferencePair> pairs, int microBatch, Parameters grads) {
        return run(model, pairs, microBatch, grads);
    }

    @Override
    public StepStats evaluate(Gpt model, List<PreferencePair> pairs, int microBatch) {
        return run(model, pairs, microBatch, null);
    }

    private StepStats run(Gpt model, List<PreferencePair> pairs, int microBatch, Parameters grads) {
        long t0 = System.nanoTime();
        double loss = 0, correct = 0;
        for (int from = 0; from < pairs.size(); from += microBatch) {
            List<PreferencePair> mb = pairs.subList(from, Math.min(pairs.size(), from + microBatch));
            Forward f = model.forward(batchOf(mb));
            int p = mb.size();
            int[] chosen = new int[p], rejected = new int[p];
            double[] margins = new double[p];
            for (int i = 0; i < p; i++) {
                chosen[i] = 2 * i;
                rejected[i] = 2 * i + 1;
                margins[i] = mb.get(i).margin();
            }
            Tensor d = grads == null ? null : Tensor.zeros(model.parameters().dtype(), 2 * p);
            BradleyTerryLoss.Result r = BradleyTerryLoss.compute(f.rewards(), chosen, rejected, margins, d);
            if (d != null) {
                d.scale(p); // the loss is a mean over the micro-batch; the objective is a sum
                model.backward(f, null, null, d, grads);
            }
            loss += r.loss() * p;
            correct += r.accuracy() * p;
        }
        return new StepStats(loss, pairs.size(), correct, System.nanoTime() - t0);
    }

    /** Rows 2i and 2i+1 are pair i's chosen and rejected sequences, right-padded. */
    static Batch batchOf(List<PreferencePair> mb) {
        int len = 0;
        for (PreferencePair p : mb) len = Math.max(len, Math.max(p.chosen().length, p.rejected().length));
        int rows = 2 * mb.size();
        int[] tokens = new int[rows * len], start = new int[rows], end = new int[rows];
        for (int i = 0; i < mb.size(); i++) {
            int[][] seqs = {mb.get(i).chosen(), mb.get(i).rejected()};
            for (int k = 0; k < 2; k++) {
                int row = 2 * i + k;
                System.arraycopy(seqs[k], 0, tokens, row * len, seqs[k].length);
                end[row] = seqs[k].length;
            }
        }
        return new Batch(tokens, rows, len, start, end);
    }

    /** Scores of single sequences (evaluation), in order. */
    public static double[] score(Gpt model, List<int[]> sequences, int microBatch) {
        double[] out = new double[sequences.size()];
        for (int from = 0; from < sequences.size(); from += microBatch) {
            List<int[]> mb = sequences.subList(from, Math.min(sequences.size(), from + microBatch));
            int len = mb.stream().mapToInt(s -> s.length).max().orElse(1);
            int[] tokens = new int[mb.size() * len], start = new int[mb.size()], end = new int[mb.size()];
            for (int i = 0; i < mb.size(); i++) {
                System.arraycopy(mb.get(i), 0, tokens, i * len, mb.get(i).length);
                end[i] = mb.get(i).length;
            }
            Forward f = model.forward(new Batch(tokens, mb.size(), len, start, end));
            for (int i = 0; i < mb.size(); i++) out[from + i] = f.rewards().get(i);
        }
        return out;
    }
}
