package org.sparkrlhf.rl;

import java.util.List;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.sampling.SampleSeed;
import org.sparkrlhf.sampling.Sampler;
import org.sparkrlhf.sampling.SamplingConfig;

/**
 * How far a policy has moved from its reference, per response: sum_t log pi(y_t) - log pi_ref(y_t)
 * over a response the policy sampled (the k1 estimator; its mean over the policy's own samples at
 * temperature 1 is KL(pi || pi_ref) in nats per response).
 */
public final class SequenceKl {
    private SequenceKl() {}

    /** Each response's summed log-ratio, scored {@code microBatch} sequences at a time. */
    public static double[] of(Gpt policy, Gpt reference, List<int[]> prompts, List<int[]> responses, int microBatch) {
        double[] out = new double[prompts.size()];
        for (int from = 0; from < prompts.size(); from += microBatch) {
            int to = Math.min(prompts.size(), from + microBatch);
            double[][] lp = ExperienceMaker.responseLogProbs(policy, prompts.subList(from, to), responses.subList(from, to));
            double[][] lr = ExperienceMaker.responseLogProbs(reference, prompts.subList(from, to), responses.subList(from, to));
            for (int i = 0; i < lp.length; i++)
                for (int t = 0; t < lp[i].length; t++) out[from + i] += lp[i][t] - lr[i][t];
        }
        return out;
    }

    /** The mean over one sample per prompt (prompt i seeded by (seed, i)) of the summed log-ratio: the KL estimate. */
    public static double sampled(Gpt policy, Gpt reference, List<int[]> prompts, SamplingConfig sampling, int padToken, long seed, int microBatch) {
        if (prompts.isEmpty()) return Double.NaN;
        long[] seeds = new long[prompts.size()];
        for (int i = 0; i < seeds.length; i++) seeds[i] = SampleSeed.of(seed, i, 0);
        List<int[]> responses = List.of(new Sampler(policy, padToken).sample(prompts.toArray(int[][]::new), seeds, sampling).tokens());
        double sum = 0;
        for (double kl : of(policy, reference, prompts, responses, microBatch)) sum += kl;
        return sum / prompts.size();
    }
}
