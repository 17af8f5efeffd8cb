package org.sparkrlhf.rundir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.sparkrlhf.config.JobConfig;

/**
 * Whether a run may resume with the config it is given. A resumed run continues exactly as the
 * uninterrupted one would, so every setting that shapes the model, the data, the seeds or the maths
 * of a step must be the one the run started with. Only settings that decide how far to go and
 * what to keep may change (more steps, other checkpoint and log intervals).
 */
final class ResumeCompatibility {
    private ResumeCompatibility() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** May differ on resume: the extent of the run, bookkeeping, and settings only a fresh start reads. */
    static final Set<String> MAY_CHANGE = Set.of("run.dir", "run.resume", "run.recurring", "run.leaseSeconds", "run.leaseWaitSeconds",
            "model.init", "train.steps", "train.checkpointEvery", "train.keepLast", "train.logEvery", "train.maxBadSteps",
            "train.collective", "train.collectiveTimeoutSeconds", "train.stageRetries",
            "data.maxBadFraction", "ppo.iterations");

    /** A setting whose value changed: key, the run's value, the given value. */
    record Difference(String key, JsonNode was, JsonNode now) {}

    /**
     * The settings that differ between the run's recorded config and the given one: those that must
     * match (the resume is refused; in the config's order), and those that may change (said in the
     * run's log, sorted by key; the {@code run.*} bookkeeping left out).
     */
    record Comparison(List<Difference> refused, List<Difference> allowed) {}

    static Comparison compare(JsonNode recorded, JobConfig given) {
        Map<String, JsonNode> was = resolved(flatten(recorded)), now = resolved(flatten(JSON.valueToTree(given)));
        List<Difference> refused = new ArrayList<>(), allowed = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : now.entrySet()) {
            JsonNode old = was.get(e.getKey());
            if (old == null || sameValue(old, e.getValue())) continue;
            Difference d = new Difference(e.getKey(), old, e.getValue());
            if (!MAY_CHANGE.contains(e.getKey())) refused.add(d);
            else if (!e.getKey().startsWith("run.")) allowed.add(d);
        }
        allowed.sort(java.util.Comparator.comparing(Difference::key));
        return new Comparison(refused, allowed);
    }

    private static boolean sameValue(JsonNode a, JsonNode b) {
        if (a.isNumber() && b.isNumber()) return a.decimalValue().compareTo(b.decimalValue()) == 0;
        return a.equals(b);
    }

    /** Unset, ppo.seed is run.seed: the seed PPO uses is compared, not how the config wrote it. */
    private static Map<String, JsonNode> resolved(Map<String, JsonNode> config) {
        JsonNode ppoSeed = config.get("ppo.seed");
        if (ppoSeed != null && ppoSeed.isNull() && config.containsKey("run.seed")) config.put("ppo.seed", config.get("run.seed"));
        return config;
    }

    private static Map<String, JsonNode> flatten(JsonNode config) {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> s = config.fields(); s.hasNext(); ) {
            Map.Entry<String, JsonNode> section = s.next();
            for (Iterator<Map.Entry<String, JsonNode>> k = section.getValue().fields(); k.hasNext(); ) {
                Map.Entry<String, JsonNode> key = k.next();
                out.put(section.getKey() + "." + key.getKey(), key.getValue());
            }
        }
        return out;
    }
}
