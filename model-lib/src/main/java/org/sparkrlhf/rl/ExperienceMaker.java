package org.sparkrlhf.rl;

import java.util.ArrayList;
import java.util.List;
import org.sparkrlhf.model.Batch;
import org.sparkrlhf.model.Forward;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.loss.Softmax;
import org.sparkrlhf.sampling.Sampler;
import org.sparkrlhf.sampling.SamplingConfig;
import org.sparkrlhf.sampling.Samples;

/**
 * Turns prompts into PPO experience (the OpenRLHF split: this makes experience, {@link PpoUpdate}
 * learns from it): sample responses with the KV-cache sampler, then score the full sequences once
 * with the policy (log-probabilities at temperature 1, the same computation training repeats, so
 * the first epoch's ratio is exactly 1), the frozen reference, the critic and the reward function;
 * shape per-token rewards and run GAE.
 */
public final class ExperienceMaker {
    private ExperienceMaker() {}

    /** Normalization of reward scores (from the reward model's statistics). */
    public record ScoreNorm(double mean, double std) implements java.io.Serializable {}

    /**
     * Where the time went: sampling, and scoring (policy, reference, critic, reward, GAE), of which
     * the critic's share (what the critic-free methods save here).
     */
    public record Timing(long samplingNanos, long scoringNanos, long criticNanos) implements java.io.Serializable {}

    /** The models experience comes from: the policy that samples, its frozen reference, the critic, and the reward. */
    public record Models(Gpt policy, Gpt reference, Gpt critic, RewardFunction reward) {}

    /** How experience is made: sampling, the special tokens, score normalization, PPO's reward shaping and GAE, the micro-batch. */
    public record Settings(SamplingConfig sampling, int padToken, int eosToken, ScoreNorm norm, PpoSettings ppo, int microBatch)
            implements java.io.Serializable {}

    /** A batch of experience and what making it cost. */
    public record Made(List<Experience> experiences, Timing timing) {}

    /** Experience for {@code prompts}, one sequence seed each, at KL coefficient {@code beta}. */
    public static Made make(List<int[]> prompts, long[] seeds, Models models, Settings settings, double beta) {
        Gpt policy = models.policy(), reference = models.reference(), critic = models.critic();
        RewardFunction reward = models.reward();
        int padToken = settings.padToken(), eosToken = settings.eosToken(), microBatch = settings.microBatch();
        ScoreNorm norm = settings.norm();
        PpoSettings ppo = settings.ppo();
        SamplingConfig sampling = settings.sampling();
        long t0 = System.nanoTime();
        Samples samples = new Sampler(policy, padToken).sample(prompts.toArray(int[][]::new), seeds, sampling);
        long t1 = System.nanoTime();
        List<int[]> responses = new ArrayList<>();
        for (int[] r : samples.tokens()) responses.add(r);
        double[] scores = reward.score(prompts, responses);
        List<Experience> out = new ArrayList<>();
        long criticNanos = 0;
        for (int from = 0; from < prompts.size(); from += microBatch) {
            int to = Math.min(prompts.size(), from + microBatch);
            List<int[]> p = prompts.subList(from, to), r = responses.subList(from, to);
            double[][] logp = responseLogProbs(policy, p, r), ref = responseLogProbs(reference, p, r);
            long c0 = System.nanoTime();
            double[][] val = responseValues(critic, p, r);
            criticNanos += System.nanoTime() - c0;
            for (int i = 0; i < p.size(); i++) {
                int k = from + i;
                boolean eos = samples.stopped()[k] && r.get(i).length > 0 && r.get(i)[r.get(i).length - 1] == eosToken;
                double[] rewards = TokenRewards.compute(logp[i], ref[i], scores[k], norm.mean(), norm.std(), ppo.scoreClip(), beta,
                        ppo.klEstimator(), eos, ppo.missingEosPenalty());
                Gae.Result g = Gae.compute(rewards, val[i], ppo.gamma(), ppo.lambda());
                out.add(new Experience(p.get(i), r.get(i), logp[i], ref[i], val[i], scores[k], eos, rewards, g.advantages(), g.returns()));
            }
        }
        return new Made(out, new Timing(t1 - t0, System.nanoTime() - t1, criticNanos));
    }

    /**
     * Critic-free experience (GRPO, RLOO): {@code k} samples of each prompt (seeds[i * k + j] for
     * sample j of prompt i), each response's sequence reward (the normalized, clipped score, plus the
     * missing-EOS penalty; for RLOO minus beta times its summed KL estimate), and every token of a
     * response given its group advantage. Values and returns are zero: no critic is read.
     */
    public static Made makeGroups(List<int[]> prompts, int k, long[] seeds, Models models, Settings settings, double beta, Advantage method) {
        if (method.needsCritic()) throw new IllegalArgumentException("makeGroups is for the critic-free methods, not " + method);
        if (seeds.length != prompts.size() * k) throw new IllegalArgumentException("need k seeds per prompt: " + prompts.size() * k + ", got " + seeds.length);
        List<int[]> expanded = new ArrayList<>(prompts.size() * k);
        for (int[] p : prompts) for (int j = 0; j < k; j++) expanded.add(p);
        PpoSettings ppo = settings.ppo();
        ScoreNorm norm = settings.norm();
        long t0 = System.nanoTime();
        Samples samples = new Sampler(models.policy(), settings.padToken()).sample(expanded.toArray(int[][]::new), seeds, settings.sampling());
        long t1 = System.nanoTime();
        List<int[]> responses = new ArrayList<>();
        for (int[] r : samples.tokens()) responses.add(r);
        double[] scores = models.reward().score(expanded, responses);
        int n = expanded.size(), micro = settings.microBatch();
        double[][] logp = new double[n][], ref = new double[n][];
        for (int from = 0; from < n; from += micro) {
            int to = Math.min(n, from + micro);
            double[][] lp = responseLogProbs(models.policy(), expanded.subList(from, to), responses.subList(from, to));
            double[][] rf = responseLogProbs(models.reference(), expanded.subList(from, to), responses.subList(from, to));
            System.arraycopy(lp, 0, logp, from, to - from);
            System.arraycopy(rf, 0, ref, from, to - from);
        }
        double[] seqReward = new double[n];
        boolean[] eos = new boolean[n];
        for (int i = 0; i < n; i++) {
            int[] r = responses.get(i);
            eos[i] = samples.stopped()[i] && r.length > 0 && r[r.length - 1] == settings.eosToken();
            seqReward[i] = Math.max(-ppo.scoreClip(), Math.min(ppo.scoreClip(), (scores[i] - norm.mean()) / norm.std()))
                    + (eos[i] ? 0 : ppo.missingEosPenalty());
            if (method == Advantage.RLOO)
                for (int t = 0; t < r.length; t++) seqReward[i] -= beta * ppo.klEstimator().estimate(logp[i][t], ref[i][t]);
        }
        double[] adv = method == Advantage.RLOO ? GroupAdvantages.rloo(seqReward, k) : GroupAdvantages.grpo(seqReward, k, 1e-4);
        List<Experience> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int len = responses.get(i).length;
            double[] a = new double[len], rewards = new double[len];
            java.util.Arrays.fill(a, adv[i]);
            rewards[len - 1] = seqReward[i];
            out.add(new Experience(expanded.get(i), responses.get(i), logp[i], ref[i], new double[len], scores[i], eos[i], rewards, a, new double[len]));
        }
        return new Made(out, new Timing(t1 - t0, System.nanoTime() - t1, 0));
    }

    /** The right-padded batch of prompt+response sequences minus their last token (the model's inputs). */
    static Batch inputs(List<int[]> prompts, List<int[]> responses) {
        int n = prompts.size(), len = 1;
        for (int i = 0; i < n; i++) len = Math.max(len, prompts.get(i).length + responses.get(i).length - 1);
        int[] tokens = new int[n * len], start = new int[n], end = new int[n];
        for (int i = 0; i < n; i++) {
            int[] p = prompts.get(i), r = responses.get(i);
            int total = p.length + r.length - 1;
            for (int t = 0; t < total; t++) tokens[i * len + t] = t < p.length ? p[t] : r[t - p.length];
            end[i] = Math.max(1, total);
        }
        return new Batch(tokens, n, len, start, end);
    }

    /** Row of the logits that predicts response token t of sequence i. */
    static int row(Batch b, int i, int promptLength, int t) {
        return i * b.length() + promptLength - 1 + t;
    }

    /** log p(response token t | everything before) for each sequence, at temperature 1. */
    public static double[][] responseLogProbs(Gpt model, List<int[]> prompts, List<int[]> responses) {
        Batch b = inputs(prompts, responses);
        Forward f = model.forward(b);
        int v = model.config().vocabSize();
        double[][] out = new double[prompts.size()][];
        for (int i = 0; i < prompts.size(); i++) {
            int[] r = responses.get(i);
            out[i] = new double[r.length];
            for (int t = 0; t < r.length; t++) out[i][t] = Softmax.logProb(f.logits(), row(b, i, prompts.get(i).length, t), v, r[t]);
        }
        return out;
    }

    /** The critic's value of the state before each response token. */
    public static double[][] responseValues(Gpt critic, List<int[]> prompts, List<int[]> responses) {
        Batch b = inputs(prompts, responses);
        Forward f = critic.forward(b);
        double[][] out = new double[prompts.size()][];
        for (int i = 0; i < prompts.size(); i++) {
            out[i] = new double[responses.get(i).length];
            for (int t = 0; t < out[i].length; t++) out[i][t] = f.values().get(row(b, i, prompts.get(i).length, t));
        }
        return out;
    }
}
