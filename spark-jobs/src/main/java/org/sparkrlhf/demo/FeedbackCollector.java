package org.sparkrlhf.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.sparkrlhf.data.ChatTemplate;
import org.sparkrlhf.engine.ModelBytes;
import org.sparkrlhf.engine.TaskSetup;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.preference.Panel;
import org.sparkrlhf.sampling.Sampler;
import org.sparkrlhf.sampling.SamplingConfig;
import org.sparkrlhf.tokenizer.Tokenizer;
import org.sparkrlhf.tokenizer.Tokenizers;

/**
 * Human feedback, simulated from real raters: for each prompt the model samples K responses and
 * one annotator of the panel (chosen per prompt from the seed) ranks them with Bradley-Terry
 * noise. Writes ranking records ({@code prompt, responses, ranking, annotator, criterion}, and
 * {@code safe} where the panel judges safety) that the reward job reads, as JSON-lines part files
 * under {@code output} (any Hadoop URI).
 */
public final class FeedbackCollector {
    private FeedbackCollector() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Returns the number of rankings written. A prompt one of whose responses is empty (the model
     * ended at once) gets no ranking, since an empty response is not a valid preference record;
     * {@code prompts - written} says how many.
     */
    public static long collect(JavaSparkContext jsc, Gpt policy, String tokenizerSpec, JavaRDD<String> prompts, int responsesPerPrompt,
                               SamplingConfig sampling, Panel panel, String criterion, long seed, String output) {
        if (responsesPerPrompt < 2) throw new IllegalArgumentException("ranking needs at least 2 responses per prompt, got " + responsesPerPrompt);
        Broadcast<ModelBytes> weights = jsc.broadcast(ModelBytes.of(policy));
        Broadcast<Panel> annotators = jsc.broadcast(panel);
        JavaRDD<String> records = prompts.zipWithIndex().mapPartitions(it -> {
            TaskSetup.begin(1);
            Tokenizer tok = Tokenizers.create(tokenizerSpec);
            Sampler sampler = new Sampler(weights.value().model(), tok.padToken());
            List<String> out = new ArrayList<>();
            while (it.hasNext()) {
                var t = it.next();
                String prompt = t._1();
                long index = t._2();
                int[] ids = ChatTemplate.userPrompt(prompt, tok);
                int[][] batch = new int[responsesPerPrompt][];
                long[] seeds = new long[responsesPerPrompt];
                for (int k = 0; k < responsesPerPrompt; k++) {
                    batch[k] = ids;
                    seeds[k] = seed * 1_000_003L + index * 131L + k;
                }
                int[][] responses = sampler.sample(batch, seeds, sampling).tokens();
                List<String> texts = new ArrayList<>();
                for (int[] r : responses) texts.add(ChatTemplate.responseText(tok, r));
                if (texts.stream().anyMatch(String::isBlank)) continue;
                SplittableRandom rng = new SplittableRandom(seed ^ (index * 0x9E3779B97F4A7C15L));
                int annotator = rng.nextInt(annotators.value().size());
                int[] ranking = annotators.value().rank(annotator, texts, rng);
                ObjectNode o = JSON.createObjectNode();
                o.put("prompt", prompt);
                var rs = o.putArray("responses");
                texts.forEach(rs::add);
                var rk = o.putArray("ranking");
                for (int r : ranking) rk.add(r);
                boolean[] safe = annotators.value().safetyVerdicts(annotator, texts, rng); // after the ranking: its draws stay as they were
                if (safe != null) {
                    var sf = o.putArray("safe");
                    for (boolean b : safe) sf.add(b);
                }
                o.put("annotator", "rater-" + annotator);
                o.put("criterion", criterion);
                out.add(JSON.writeValueAsString(o));
            }
            return out.iterator();
        });
        records.saveAsTextFile(output);
        long n = jsc.textFile(output).count();
        weights.unpersist(false);
        annotators.unpersist(false);
        return n;
    }
}
