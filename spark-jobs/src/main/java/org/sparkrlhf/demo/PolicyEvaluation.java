package org.sparkrlhf.demo;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.sparkrlhf.engine.ModelBytes;
import org.sparkrlhf.engine.TaskSetup;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.rl.RewardFunction;
import org.sparkrlhf.rl.SequenceKl;
import org.sparkrlhf.sampling.Sampler;
import org.sparkrlhf.sampling.SampleSeed;
import org.sparkrlhf.sampling.SamplingConfig;
import scala.Tuple2;

/**
 * Samples n responses per held-out prompt with a policy, on the executors, and scores each with
 * the reward model (the proxy) and, given a reference, the KL estimate sum_t log pi - log pi_ref
 * (k1, as in PPO's penalty). The gold reward is computed by the caller from the text.
 */
final class PolicyEvaluation {
    private PolicyEvaluation() {}

    /** Sequences sampled together in one batch. */
    private static final int CHUNK = 64;

    /** One sampled response: prompt index, sample index within the prompt, tokens, scores. */
    record Scored(int prompt, int sample, int[] response, double proxy, double kl) implements Serializable {}

    /** Scored samples in (prompt, sample) order; {@code reference} may be null (KL is then 0). */
    static List<Scored> run(JavaSparkContext jsc, List<int[]> prompts, int samplesPerPrompt, Gpt policy, Gpt reference, Gpt rewardModel,
                            SamplingConfig sampling, int padToken, long seed, int partitions) {
        // policy, reference (or null), reward model
        Broadcast<ModelBytes[]> models = jsc.broadcast(new ModelBytes[]{ModelBytes.of(policy), ModelBytes.of(reference), ModelBytes.of(rewardModel)});
        List<Tuple2<Integer, int[]>> indexed = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) indexed.add(new Tuple2<>(i, prompts.get(i)));
        try {
            List<Scored> out = new ArrayList<>(jsc.parallelize(indexed, partitions).mapPartitions(it -> {
                TaskSetup.begin(1);
                ModelBytes[] w = models.value();
                Gpt p = w[0].model(), r = w[1] == null ? null : w[1].model();
                RewardFunction proxy = RewardFunction.model(w[2].model(), 16);
                List<int[]> seqs = new ArrayList<>();
                List<int[]> ids = new ArrayList<>(); // {prompt, sample}
                it.forEachRemaining(t -> {
                    for (int k = 0; k < samplesPerPrompt; k++) {
                        seqs.add(t._2());
                        ids.add(new int[]{t._1(), k});
                    }
                });
                List<Scored> scored = new ArrayList<>();
                Sampler sampler = new Sampler(p, padToken);
                for (int from = 0; from < seqs.size(); from += CHUNK) {
                    List<int[]> batch = seqs.subList(from, Math.min(seqs.size(), from + CHUNK));
                    long[] seeds = new long[batch.size()];
                    for (int i = 0; i < seeds.length; i++) seeds[i] = SampleSeed.of(seed, ids.get(from + i)[0], ids.get(from + i)[1]);
                    List<int[]> responses = List.of(sampler.sample(batch.toArray(int[][]::new), seeds, sampling).tokens());
                    double[] proxies = proxy.score(batch, responses);
                    double[] kl = r == null ? new double[batch.size()] : SequenceKl.of(p, r, batch, responses, CHUNK);
                    for (int i = 0; i < batch.size(); i++) {
                        int[] id = ids.get(from + i);
                        scored.add(new Scored(id[0], id[1], responses.get(i), proxies[i], kl[i]));
                    }
                }
                return scored.iterator();
            }).collect());
            out.sort((a, b) -> a.prompt() != b.prompt() ? Integer.compare(a.prompt(), b.prompt()) : Integer.compare(a.sample(), b.sample()));
            return out;
        } finally {
            models.unpersist(false);
        }
    }
}
