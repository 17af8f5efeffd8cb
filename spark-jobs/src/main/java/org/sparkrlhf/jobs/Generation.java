package org.sparkrlhf.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.broadcast.Broadcast;
import org.sparkrlhf.data.TextPairRecords.Pair;
import org.sparkrlhf.engine.ModelBytes;
import org.sparkrlhf.engine.TaskSetup;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.rl.ExperienceMaker;
import org.sparkrlhf.rl.RewardFunction;
import org.sparkrlhf.sampling.Sampler;
import org.sparkrlhf.sampling.SampleSeed;
import org.sparkrlhf.sampling.Samples;
import org.sparkrlhf.sampling.SamplingConfig;
import org.sparkrlhf.tokenizer.Tokenizer;
import org.sparkrlhf.tokenizer.Tokenizers;
import scala.Tuple2;

/**
 * The executors' side of {@code generate} and {@code score}: each task samples (or takes) responses
 * for its prompts in chunks and scores them with the reward model, as JSON lines keyed by
 * (prompt, sample). A response is seeded by its prompt's index and sample number alone, so a rerun,
 * or a task Spark retries, writes the same text.
 */
final class Generation {
    private Generation() {}

    /** Rows sampled or scored together. */
    static final int CHUNK = 32;

    /** What a task needs besides its prompts; {@code reward} and {@code norm} are null without a reward model. */
    record Job(Broadcast<ModelBytes[]> models, String tokenizer, SamplingConfig sampling, int samples, long seed, int padToken,
               ExperienceMaker.ScoreNorm norm, int threads, boolean keepBest) implements Serializable {}

    /** A test's fault, thrown inside a task (see GenerateCommandTest); null in real runs. */
    static volatile TaskFault fault;

    interface TaskFault extends Serializable {
        void maybeFail(TaskContext task);
    }

    /** Samples {@code job.samples()} responses per prompt (indexed) and returns JSON lines sorted by (prompt, sample). */
    static JavaRDD<String> generate(JavaPairRDD<Pair, Long> prompts, int partitions, Job job) {
        return prompts.repartition(partitions).mapPartitionsToPair(it -> {
            TaskSetup.begin(job.threads());
            if (fault != null) fault.maybeFail(TaskContext.get());
            ModelBytes[] m = job.models().value();
            Gpt policy = m[0].model();
            RewardFunction reward = m[1] == null ? null : RewardFunction.model(m[1].model(), 16);
            Tokenizer tok = Tokenizers.create(job.tokenizer());
            Sampler sampler = new Sampler(policy, job.padToken());
            List<Pair> rows = new ArrayList<>();
            List<long[]> ids = new ArrayList<>(); // {prompt index, sample}
            it.forEachRemaining(t -> {
                for (int k = 0; k < job.samples(); k++) {
                    rows.add(t._1());
                    ids.add(new long[]{t._2(), k});
                }
            });
            List<Tuple2<Long, String>> out = new ArrayList<>();
            java.util.Map<Long, double[]> best = new java.util.HashMap<>(); // prompt -> {best score, its sample}
            for (int from = 0; from < rows.size(); from += CHUNK) {
                int to = Math.min(rows.size(), from + CHUNK);
                int[][] prompt = new int[to - from][];
                long[] seeds = new long[to - from];
                for (int i = from; i < to; i++) {
                    prompt[i - from] = rows.get(i).promptIds();
                    seeds[i - from] = SampleSeed.of(job.seed(), ids.get(i)[0], (int) ids.get(i)[1]);
                }
                Samples s = sampler.sample(prompt, seeds, job.sampling());
                List<int[]> responses = List.of(s.tokens());
                double[] scores = reward == null ? null : reward.score(List.of(prompt), responses);
                for (int i = from; i < to; i++) {
                    int r = i - from;
                    ObjectNode o = JSON.createObjectNode();
                    o.put("prompt_index", ids.get(i)[0]);
                    o.put("sample", ids.get(i)[1]);
                    o.put("prompt", rows.get(i).prompt());
                    o.put("response", tok.decode(s.tokens()[r]));
                    ArrayNode toks = o.putArray("response_tokens"), lps = o.putArray("logprobs");
                    for (int t : s.tokens()[r]) toks.add(t);
                    for (double lp : s.logProbs()[r]) lps.add(lp);
                    o.put("stopped", s.stopped()[r]);
                    o.put("seed", seeds[r]);
                    if (scores != null) putScores(o, scores[r], job.norm());
                    out.add(new Tuple2<>(ids.get(i)[0] * job.samples() + ids.get(i)[1], JSON.writeValueAsString(o)));
                    if (scores != null) best.merge(ids.get(i)[0], new double[] {scores[r], ids.get(i)[1]},
                            (a, b2) -> b2[0] > a[0] ? b2 : a); // ties keep the lower sample number
                }
            }
            if (!job.keepBest()) return out.iterator();
            // best-of-n: a prompt's samples are all in this task, so its best one is chosen here
            List<Tuple2<Long, String>> kept = new ArrayList<>();
            for (Tuple2<Long, String> t : out) {
                long prompt = t._1() / job.samples();
                if ((long) best.get(prompt)[1] == t._1() % job.samples()) kept.add(t);
            }
            return kept.iterator();
        }).sortByKey(true, partitions).values();
    }

    /** Scores given (prompt, response) pairs with the reward model; JSON lines in the records' order. */
    static JavaRDD<String> score(JavaPairRDD<Pair, Long> pairs, int partitions, Job job) {
        return pairs.repartition(partitions).mapPartitionsToPair(it -> {
            TaskSetup.begin(job.threads());
            if (fault != null) fault.maybeFail(TaskContext.get());
            RewardFunction reward = RewardFunction.model(job.models().value()[1].model(), 16);
            List<Tuple2<Pair, Long>> rows = new ArrayList<>();
            it.forEachRemaining(rows::add);
            List<Tuple2<Long, String>> out = new ArrayList<>();
            for (int from = 0; from < rows.size(); from += CHUNK) {
                List<Tuple2<Pair, Long>> chunk = rows.subList(from, Math.min(rows.size(), from + CHUNK));
                double[] s = reward.score(chunk.stream().map(t -> t._1().promptIds()).toList(), chunk.stream().map(t -> t._1().responseIds()).toList());
                for (int i = 0; i < chunk.size(); i++) {
                    ObjectNode o = JSON.createObjectNode();
                    o.put("index", chunk.get(i)._2());
                    o.put("prompt", chunk.get(i)._1().prompt());
                    o.put("response", chunk.get(i)._1().response());
                    putScores(o, s[i], job.norm());
                    out.add(new Tuple2<>(chunk.get(i)._2(), JSON.writeValueAsString(o)));
                }
            }
            return out.iterator();
        }).sortByKey(true, partitions).values();
    }

    private static void putScores(ObjectNode o, double raw, ExperienceMaker.ScoreNorm norm) {
        o.put("score", raw);
        o.put("score_normalized", (raw - norm.mean()) / norm.std());
    }

    private static final ObjectMapper JSON = new ObjectMapper();
}
