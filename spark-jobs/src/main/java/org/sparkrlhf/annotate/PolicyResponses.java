package org.sparkrlhf.annotate;

import java.util.ArrayList;
import java.util.List;
import org.sparkrlhf.jobs.ResponseBatches;

/** Responses sampled from the policy as they are needed, by the generate job on Spark. */
final class PolicyResponses implements ResponseSource {
    private final ResponseBatches batches;

    PolicyResponses(ResponseBatches batches) {
        this.batches = batches;
    }

    @Override
    public long prompts() {
        return batches.prompts();
    }

    @Override
    public List<Item> batch(String round, long from, long to, int k) throws Exception {
        List<List<String>> sampled = batches.sample(from, to);
        List<Item> out = new ArrayList<>();
        for (long i = from; i < to; i++) out.add(new Item(Item.id(round, i), round, i, batches.prompt(i), sampled.get((int) (i - from))));
        return out;
    }

    @Override
    public String describe() {
        return "policy " + batches.policy() + " (sampled on Spark in batches)";
    }

    @Override
    public void close() {
        batches.close();
    }
}
