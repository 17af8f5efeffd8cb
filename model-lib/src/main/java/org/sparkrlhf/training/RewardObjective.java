package org.sparkrlhf.training;

import java.util.ArrayList;
import java.util.List;
import org.sparkrlhf.model.Batch;
import org.sparkrlhf.model.Forward;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.preference.BradleyTerryLoss;
import org.sparkrlhf.preference.SafetyLabelLoss;
import org.sparkrlhf.tensor.Tensor;

/**
 * Bradley-Terry loss summed over pairs. A micro-batch holds whole groups: their responses are scored
 * in one forward pass of the reward model (read at each sequence's last token) and every pair of
 * every group is compared. Responses that carry a safety label add {@code safetyLabelWeight} times
 * {@link SafetyLabelLoss} each (Safe RLHF's cost model); a ranking of four gives six pairs and four
 * labels, so at weight 1 the two terms weigh about alike.
 */
public final class RewardObjective implements Objective<PreferenceGroup> {
    private final double safetyLabelWeight;

    /** Pairs only: safety labels are ignored. */
    public RewardObjective() {
        this(0);
    }

    public RewardObjective(double safetyLabelWeight) {
        if (!(safetyLabelWeight >= 0) || Double.isInfinite(safetyLabelWeight))
            throw new IllegalArgumentException("the safety labels' weight must be >= 0, got " + safetyLabelWeight);
        this.safetyLabelWeight = safetyLabelWeight;
    }

    @Override
    public StepStats accumulate(Gpt model, List<PreferenceGroup> groups, int microBatch, Parameters grads) {
        return run(model, groups, microBatch, grads);
    }

    @Override
    public StepStats evaluate(Gpt model, List<PreferenceGroup> groups, int microBatch) {
        return run(model, groups, microBatch, null);
    }

    /** {@code microBatch} counts groups. */
    private StepStats run(Gpt model, List<PreferenceGroup> groups, int microBatch, Parameters grads) {
        long t0 = System.nanoTime();
        double loss = 0, correct = 0, pairs = 0;
        for (int from = 0; from < groups.size(); from += microBatch) {
            List<PreferenceGroup> mb = groups.subList(from, Math.min(groups.size(), from + microBatch));
            List<int[]> seqs = new ArrayList<>();
            List<Integer> c = new ArrayList<>(), r = new ArrayList<>();
            List<Double> m = new ArrayList<>();
            int[] labels = new int[mb.stream().mapToInt(g -> g.sequences().length).sum()];
            for (PreferenceGroup g : mb) {
                int base = seqs.size();
                for (int[] s : g.sequences()) seqs.add(s);
                System.arraycopy(g.safety(), 0, labels, base, g.sequences().length);
                for (int i = 0; i < g.pairs(); i++) {
                    c.add(base + g.chosen()[i]);
                    r.add(base + g.rejected()[i]);
                    m.add(g.margins()[i]);
                }
            }
            int p = c.size();
            Forward f = model.forward(batchOf(seqs));
            Tensor d = grads == null ? null : Tensor.zeros(model.parameters().dtype(), seqs.size());
            BradleyTerryLoss.Result res = BradleyTerryLoss.compute(f.rewards(), c.stream().mapToInt(Integer::intValue).toArray(),
                    r.stream().mapToInt(Integer::intValue).toArray(), m.stream().mapToDouble(Double::doubleValue).toArray(), d);
            if (d != null) d.scale(p); // the loss is a mean over the micro-batch's pairs; the objective is a sum
            if (safetyLabelWeight > 0) loss += safetyLabelWeight * SafetyLabelLoss.compute(f.rewards(), labels, safetyLabelWeight, d).lossSum();
            if (d != null) model.backward(f, null, null, d, grads);
            loss += res.loss() * p;
            correct += res.accuracy() * p;
            pairs += p;
        }
        return new StepStats(loss, pairs, correct, System.nanoTime() - t0);
    }

    /** Sequences as rows of a right-padded batch. */
    public static Batch batchOf(List<int[]> seqs) {
        int len = seqs.stream().mapToInt(s -> s.length).max().orElse(1);
        int[] tokens = new int[seqs.size() * len], start = new int[seqs.size()], end = new int[seqs.size()];
        for (int i = 0; i < seqs.size(); i++) {
            System.arraycopy(seqs.get(i), 0, tokens, i * len, seqs.get(i).length);
            end[i] = seqs.get(i).length;
        }
        return new Batch(tokens, seqs.size(), len, start, end);
    }

    /** Reward-model scores of single sequences, in order. */
    public static double[] score(Gpt model, List<int[]> sequences, int microBatch) {
        double[] out = new double[sequences.size()];
        for (int from = 0; from < sequences.size(); from += microBatch) {
            List<int[]> mb = sequences.subList(from, Math.min(sequences.size(), from + microBatch));
            Forward f = model.forward(batchOf(mb));
            for (int i = 0; i < mb.size(); i++) out[from + i] = f.rewards().get(i);
        }
        return out;
    }
}
