package org.sparkrlhf.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import org.sparkrlhf.config.DemoConfig;
import org.sparkrlhf.engine.PpoTrainer;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.Head;
import org.sparkrlhf.preference.GoldEvaluation;

/**
 * The demo's results and its targets, as {@code summary.json} and as a few readable lines. A
 * method's figures carry its name ({@code gold_ppo_mean}, {@code kl_grpo}, {@code dpo_curve}); with
 * several methods, {@code comparison} holds one row per method (also {@code comparison.json}).
 */
final class DemoSummary {
    private DemoSummary() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Targets of the demo (issues 5 and 16); a miss is reported, never hidden. */
    static final double MAX_MINUTES = 15, MAX_RM_GAP = 0.05, MIN_GOLD_GAIN_SD = 1.0, MAX_KL = 6.0;

    static ObjectNode build(DemoConfig cfg, RewardReport rm, ScoredSet sft, List<MethodRun.Result> methods, GptConfig policy,
                            Map<String, Double> stageSeconds, double minutes, String out) {
        ObjectNode o = JSON.createObjectNode();
        o.put("run_dir", out);
        o.put("rm_accuracy", rm.accuracy());
        o.put("rm_noise_ceiling", rm.noiseCeiling());
        o.put("rm_roc_auc", rm.rocAuc());
        o.put("rm_eval_pairs", rm.pairs());
        o.put("rm_ece", rm.ece());
        o.put("annotator_agreement", rm.agreement());
        o.put("gold_sft_mean", sft.goldMean());
        o.put("gold_sft_std", sft.goldStd());
        o.put("proxy_sft_mean", sft.proxyMean());
        o.put("response_length_sft", sft.responseLength());
        int perPrompt = cfg.evaluation().ppoSamplesPerPrompt();
        double sftDistinct2 = sft.distinct2(perPrompt);
        long criticBytes = PpoTrainer.criticBytes(policy.withHeads(Head.VALUE)); // what PPO's critic takes on a rank, and the others save
        o.put("distinct_2_sft", sftDistinct2);
        ArrayNode names = o.putArray("methods");
        ArrayNode comparison = JSON.createArrayNode();
        for (MethodRun.Result r : methods) {
            String m = r.method().id();
            names.add(m);
            ObjectNode row = row(r, sft, perPrompt, sftDistinct2, criticBytes);
            comparison.add(row);
            o.put("gold_" + m + "_mean", r.scored().goldMean());
            o.put("proxy_" + m + "_mean", r.scored().proxyMean());
            o.put("kl_" + m, r.scored().klMean());
            if (row.has("kl_max_during_training")) o.put("kl_" + m + "_max_during_training", row.get("kl_max_during_training").asDouble());
            o.set("gold_gain_sd_" + m, row.get("gold_gain_sd"));
            o.set("gold_gain_sd_" + m + "_se", row.get("gold_gain_sd_se"));
            o.put("response_length_" + m, r.scored().responseLength());
            o.put("distinct_2_" + m, row.get("distinct_2").asDouble());
            ArrayNode c = o.putArray(m + "_curve");
            r.curve().forEach(c::add);
        }
        o.set("gold_gain_sd", comparison.get(0).get("gold_gain_sd")); // the first (or only) method's
        o.set("gold_gain_sd_se", comparison.get(0).get("gold_gain_sd_se"));
        ArrayNode bon = o.putArray("best_of_n");
        for (int n : cfg.evaluation().bestOfN()) {
            ObjectNode b = bon.addObject();
            b.put("n", n);
            b.put("kl", GoldEvaluation.bestOfNKl(n));
            b.put("gold_mean", sft.bestOfNGold(n));
            b.put("proxy_mean", sft.bestOfNProxy(n));
        }
        if (methods.size() > 1) o.set("comparison", comparison);
        o.put("minutes", minutes);
        ObjectNode stages = o.putObject("stage_seconds");
        stageSeconds.forEach(stages::put);

        ObjectNode t = JSON.createObjectNode();
        t.put("rm_within_5_points_of_ceiling", rm.accuracy() >= rm.noiseCeiling() - MAX_RM_GAP);
        if (methods.size() == 1) { // the demo as it runs by default: one method, within 15 minutes
            JsonNode row = comparison.get(0);
            t.put("minutes_le_15", minutes <= MAX_MINUTES);
            t.put("gold_gain_ge_1_sd", row.path("gold_gain_sd").asDouble(Double.NaN) >= MIN_GOLD_GAIN_SD);
            t.put("kl_le_6", klWithin(row));
        } else { // the comparison: every online method at >= 1 SD within 6 nats; DPO and rejection sampling reported as they are
            for (JsonNode row : comparison) {
                if (!row.get("online").asBoolean()) continue;
                String m = row.get("method").asText();
                t.put(m + "_gold_gain_ge_1_sd", row.path("gold_gain_sd").asDouble(Double.NaN) >= MIN_GOLD_GAIN_SD);
                t.put(m + "_kl_le_6", klWithin(row));
            }
        }
        setTargets(o, t);
        return o;
    }

    /**
     * Makes {@code targets} the run's verdict and {@code targets_missed} the names of those not met. The harmlessness task
     * judges its own targets ({@link SafetyReport#targets}) in place of the plain demo's.
     */
    static void setTargets(ObjectNode summary, ObjectNode targets) {
        summary.set("targets", targets);
        ArrayNode missed = summary.putArray("targets_missed");
        targets.fields().forEachRemaining(e -> {
            if (!e.getValue().asBoolean()) missed.add(e.getKey());
        });
    }

    /** KL within the limit at the end and, for an online method, at every iteration of training. */
    private static boolean klWithin(JsonNode row) {
        return klWithin(row.get("kl").asDouble(), row.path("kl_max_during_training").asDouble(Double.NaN));
    }

    /** The demo's KL rule, also the harmlessness task's: within MAX_KL at the end and at every training iteration (NaN: none recorded). */
    static boolean klWithin(double kl, double klMaxDuringTraining) {
        return kl <= MAX_KL && !(klMaxDuringTraining > MAX_KL);
    }

    /** One method's line of the comparison. */
    private static ObjectNode row(MethodRun.Result r, ScoredSet sft, int perPrompt, double sftDistinct2, long criticBytes) {
        ScoredSet s = r.scored();
        ObjectNode row = JSON.createObjectNode();
        row.put("method", r.method().id());
        row.put("online", r.method().online);
        row.put("gold_mean", s.goldMean());
        putGain(row, s.goldMean(), sft);
        putFinite(row, "gold_gain_sd_se", s.goldGain(sft, p -> true).standardError());
        row.put("kl", s.klMean());
        row.put("proxy_mean", s.proxyMean());
        row.put("distinct_2", s.distinct2(perPrompt));
        row.put("distinct_2_sft", sftDistinct2);
        row.put("training_minutes", r.trainingMinutes());
        ObjectNode matched = row.putObject("best_of_n_at_matched_kl"); // the n whose KL, log n - (n-1)/n, is nearest
        int n = 1;
        for (int k = 2; k <= sft.perPrompt(); k++)
            if (Math.abs(GoldEvaluation.bestOfNKl(k) - s.klMean()) < Math.abs(GoldEvaluation.bestOfNKl(n) - s.klMean())) n = k;
        matched.put("n", n);
        matched.put("kl", GoldEvaluation.bestOfNKl(n));
        matched.put("gold_mean", sft.bestOfNGold(n));
        putGain(matched, sft.bestOfNGold(n), sft);
        if (r.method().online && !r.curve().isEmpty()) {
            row.put("kl_max_during_training", r.klMaxDuringTraining());
            row.put("seconds_per_iteration", r.curve().stream().mapToDouble(c -> c.get("iteration_seconds").asDouble()).average().orElse(Double.NaN));
            if (r.method() == Method.PPO) {
                row.put("critic_seconds_per_iteration", r.curve().stream().mapToDouble(c -> c.get("critic_seconds").asDouble()).average().orElse(Double.NaN));
                row.put("critic_bytes_per_rank", criticBytes);
            } else {
                row.put("critic_bytes_saved_per_rank", criticBytes);
            }
        }
        return row;
    }

    /** {@code gold_gain_sd}: the gain over the SFT model in its standard deviations (null when every SFT response scores the same). */
    private static void putGain(ObjectNode o, double gold, ScoredSet sft) {
        putFinite(o, "gold_gain_sd", (gold - sft.goldMean()) / sft.goldStd());
    }

    /** A figure, or null where it is not a number (too few prompts for an error, no spread to divide by). */
    static void putFinite(ObjectNode o, String name, double v) {
        if (Double.isFinite(v)) o.put(name, v);
        else o.putNull(name);
    }

    /** A figure {@link #putFinite} wrote: its value, or NaN where it wrote null. */
    private static double numberOrNaN(JsonNode v) {
        return v != null && v.isNumber() ? v.asDouble() : Double.NaN;
    }

    /** The readable version for the console. */
    static String text(ObjectNode s, ScoredSet sft, List<MethodRun.Result> methods, List<String> prompts) {
        StringBuilder b = new StringBuilder();
        b.append(String.format("%nRLHF demo finished in %.1f minutes. Run directory: %s%n", s.get("minutes").asDouble(), s.get("run_dir").asText()));
        b.append(String.format("  reward model    held-out accuracy %.1f%%  (noise ceiling %.1f%%, ROC AUC %.3f; annotators agree on %.1f%% of pairs)%n",
                100 * s.get("rm_accuracy").asDouble(), 100 * s.get("rm_noise_ceiling").asDouble(), s.get("rm_roc_auc").asDouble(),
                100 * s.get("annotator_agreement").asDouble()));
        for (MethodRun.Result r : methods) {
            String m = r.method().id();
            b.append(String.format("  gold reward     SFT %.3f +- %.3f  ->  %s %.3f  (%+.2f SD, standard error %.2f) at KL %.2f nats to the SFT model%s%n",
                    s.get("gold_sft_mean").asDouble(), s.get("gold_sft_std").asDouble(), r.method().title, s.get("gold_" + m + "_mean").asDouble(),
                    s.get("gold_gain_sd_" + m).asDouble(Double.NaN), numberOrNaN(s.get("gold_gain_sd_" + m + "_se")), s.get("kl_" + m).asDouble(),
                    s.has("kl_" + m + "_max_during_training") ? String.format(" (at most %.2f in training)", s.get("kl_" + m + "_max_during_training").asDouble()) : ""));
            b.append(String.format("  proxy reward    SFT %.3f  ->  %s %.3f%n", s.get("proxy_sft_mean").asDouble(), r.method().title,
                    s.get("proxy_" + m + "_mean").asDouble()));
        }
        b.append("  best-of-n       ");
        s.get("best_of_n").forEach(x -> b.append(String.format("n=%d: gold %.3f (KL %.2f)   ", x.get("n").asInt(), x.get("gold_mean").asDouble(), x.get("kl").asDouble())));
        b.append('\n');
        if (s.has("comparison")) b.append(table(s.get("comparison")));
        MethodRun.Result first = methods.get(0);
        ScoredSet after = first.scored();
        b.append(String.format("  samples before (SFT) and after (%s), same prompts:%n", first.method().title));
        for (int p = 0; p < 3 && p * sft.perPrompt() < sft.size() && p * after.perPrompt() < after.size(); p++) {
            int i = p * sft.perPrompt(), j = p * after.perPrompt();
            b.append(String.format("    prompt: %s%n      SFT [gold %+.2f] %s%n      %s [gold %+.2f] %s%n", prompts.get(p), sft.gold(i),
                    oneLine(sft.text(i)), first.method().id().toUpperCase(java.util.Locale.ROOT), after.gold(j), oneLine(after.text(j))));
        }
        return b.toString();
    }

    /** The verdict's line: every target met, or the names of those missed. */
    static String verdict(JsonNode s) {
        String whose = s.has("safety") ? " (the harmlessness task's)" : "";
        if (s.get("targets_missed").isEmpty()) return "  all targets met" + whose + "\n";
        return "  targets NOT met" + whose + ": " + s.get("targets_missed") + "\n";
    }

    /** The comparison as a table: gold gain, KL, proxy, variety, time, and best-of-n at the same KL. */
    static String table(JsonNode rows) {
        StringBuilder b = new StringBuilder(String.format("%n  %-10s %9s %7s %7s %7s %10s %8s   %s%n", "method", "gold (SD)", "KL", "max KL", "proxy",
                "distinct-2", "minutes", "best-of-n at that KL: n, gold (SD)"));
        for (JsonNode r : rows) {
            JsonNode bon = r.get("best_of_n_at_matched_kl");
            b.append(String.format("  %-10s %+9.2f %7.2f %7s %7.3f %10.3f %8.1f   n=%d, %+.2f%n", r.get("method").asText(),
                    r.path("gold_gain_sd").asDouble(Double.NaN), r.get("kl").asDouble(),
                    r.has("kl_max_during_training") ? String.format("%.2f", r.get("kl_max_during_training").asDouble()) : "-",
                    r.get("proxy_mean").asDouble(), r.get("distinct_2").asDouble(), r.get("training_minutes").asDouble(), bon.get("n").asInt(),
                    bon.path("gold_gain_sd").asDouble(Double.NaN)));
        }
        JsonNode first = rows.get(0);
        b.append(String.format("  (distinct-2 of the SFT model: %.3f; gold gain in SFT standard deviations; KL in nats to the SFT model)%n%n",
                first.get("distinct_2_sft").asDouble()));
        return b.toString();
    }

    private static String oneLine(String t) {
        String s = t.replace('\n', ' ');
        return s.length() > 100 ? s.substring(0, 100) + "..." : s;
    }
}
