package org.sparkrlhf.preference;

import org.sparkrlhf.tensor.Tensor;

/**
 * Safe RLHF's classification term for a harmlessness (cost) model: besides ranking responses, each
 * is labelled safe or unsafe, and the score is asked to say which by its sign,
 * {@code -log sigmoid(y * score)} with y = +1 for safe and -1 for unsafe. Bradley-Terry alone fixes
 * only differences, so a model's zero means nothing; with this term a score above 0 reads "safe",
 * and a refusal and a clean answer, both safe, are pulled to the same side. Summed over the
 * labelled responses; unlabelled ones (0) add nothing.
 */
public final class SafetyLabelLoss {
    private SafetyLabelLoss() {}

    /** The loss summed over labelled responses, how many there were, and how many the score's sign got right. */
    public record Result(double lossSum, int labelled, int correct) {}

    /**
     * @param scores  one harmlessness score per sequence
     * @param labels  per sequence: +1 safe, -1 unsafe, 0 unlabelled
     * @param weight  the term's weight in the gradient (the returned loss is unweighted)
     * @param dScores if not null, {@code weight} times d loss / d scores is added to it
     */
    public static Result compute(Tensor scores, int[] labels, double weight, Tensor dScores) {
        if (labels.length != scores.size())
            throw new IllegalArgumentException("need one safety label per score, got " + labels.length + " for " + scores.size());
        double loss = 0;
        int n = 0, correct = 0;
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] == 0) continue;
            double z = labels[i] * scores.get(i);
            loss += BradleyTerryLoss.softplus(-z);
            n++;
            if (z > 0) correct++;
            if (dScores != null) dScores.add(i, -weight * labels[i] * BradleyTerryLoss.sigmoid(-z));
        }
        return new Result(loss, n, correct);
    }
}
