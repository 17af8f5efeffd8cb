package org.sparkrlhf.rl;

import java.io.Serializable;
import java.util.List;
import org.sparkrlhf.model.Batch;
import org.sparkrlhf.model.Forward;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.tensor.Tensor;

/**
 * The learning half of PPO: for a minibatch of experience, the gradients of the clipped policy
 * loss (with entropy bonus) and of the clipped value loss, as sums over response tokens so that
 * shards add up; the caller divides by {@link Stats#tokens()} and steps each optimizer.
 */
public final class PpoUpdate {
    private PpoUpdate() {}

    /**
     * Sums over the minibatch's response tokens (ratioMax is a maximum); the compute time, and the
     * critic's share of it (what the critic-free methods save).
     */
    public record Stats(double policyLoss, double valueLoss, double entropy, double approxKl, double clipped, double ratio,
                        double ratioMax, double tokens, long computeNanos, long criticNanos) implements Serializable {
        public static final Stats ZERO = new Stats(0, 0, 0, 0, 0, 0, Double.NEGATIVE_INFINITY, 0, 0, 0);

        public Stats plus(Stats o) {
            return new Stats(policyLoss + o.policyLoss, valueLoss + o.valueLoss, entropy + o.entropy, approxKl + o.approxKl,
                    clipped + o.clipped, ratio + o.ratio, Math.max(ratioMax, o.ratioMax), tokens + o.tokens, Math.max(computeNanos, o.computeNanos),
                    Math.max(criticNanos, o.criticNanos));
        }
    }

    public static Stats accumulate(Gpt policy, Gpt critic, List<Experience> mb, Moments advantageStats, PpoSettings s,
                                   Parameters policyGrads, Parameters criticGrads) {
        return accumulate(policy, critic, mb, advantageStats, s, policyGrads, criticGrads, 0.0);
    }

    /**
     * As above; {@code critic} null for the critic-free methods (no value loss), {@code advantageStats}
     * null to take the advantages as they are (group methods normalize within the group), and
     * {@code klInLoss} > 0 adds GRPO's k3 KL penalty against the reference to the loss.
     */
    public static Stats accumulate(Gpt policy, Gpt critic, List<Experience> mb, Moments advantageStats, PpoSettings s,
                                   Parameters policyGrads, Parameters criticGrads, double klInLoss) {
        long t0 = System.nanoTime();
        if (mb.isEmpty()) return Stats.ZERO;
        List<int[]> prompts = mb.stream().map(Experience::prompt).toList(), responses = mb.stream().map(Experience::response).toList();
        Batch b = ExperienceMaker.inputs(prompts, responses);
        int rows = b.batchSize() * b.length(), v = policy.config().vocabSize();
        int[] actions = new int[rows];
        double[] oldLogp = new double[rows], adv = new double[rows], mask = new double[rows], oldV = new double[rows], ret = new double[rows],
                refLogp = new double[rows];
        double tokens = 0;
        for (int i = 0; i < mb.size(); i++) {
            Experience e = mb.get(i);
            for (int t = 0; t < e.response().length; t++) {
                int row = ExperienceMaker.row(b, i, e.prompt().length, t);
                actions[row] = e.response()[t];
                oldLogp[row] = e.oldLogProbs()[t];
                adv[row] = advantageStats == null ? e.advantages()[t] : advantageStats.whiten(e.advantages()[t], true);
                refLogp[row] = e.refLogProbs()[t];
                oldV[row] = e.oldValues()[t];
                ret[row] = e.returns()[t];
                mask[row] = 1;
                tokens++;
            }
        }
        Forward f = policy.forward(b);
        Tensor dLogits = Tensor.zeros(policy.parameters().dtype(), rows * v);
        PpoPolicyLoss.Result pr = PpoPolicyLoss.compute(f.logits(), v, actions, oldLogp, adv, mask, s.clip(), s.entropyCoef(), 1.0,
                klInLoss > 0 ? refLogp : null, klInLoss, dLogits);
        policy.backward(f, dLogits, null, null, policyGrads);
        if (critic == null)
            return new Stats(pr.policyLoss(), 0, pr.entropy(), pr.approxKl(), pr.clipFraction(), pr.ratioMean(), pr.ratioMax(), tokens,
                    System.nanoTime() - t0, 0);

        long c0 = System.nanoTime();
        Forward cf = critic.forward(b);
        Tensor dValues = Tensor.zeros(critic.parameters().dtype(), rows);
        double vl = ValueLoss.compute(cf.values(), oldV, ret, mask, s.valueClip(), 1.0, dValues);
        critic.backward(cf, null, dValues, null, criticGrads);
        long t1 = System.nanoTime();
        return new Stats(pr.policyLoss(), vl, pr.entropy(), pr.approxKl(), pr.clipFraction(), pr.ratioMean(), pr.ratioMax(), tokens,
                t1 - t0, t1 - c0);
    }
}
