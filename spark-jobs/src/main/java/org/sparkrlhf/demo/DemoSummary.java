package org.sparkrlhf.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import org.sparkrlhf.config.DemoConfig;
import org.sparkrlhf.preference.GoldEvaluation;

/** The demo's results and its targets, as {@code summary.json} and as a few readable lines. */
final class DemoSummary {
    private DemoSummary() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Targets of the demo (issue 5); a miss is reported, never hidden. */
    static final double MAX_MINUTES = 15, MAX_RM_GAP = 0.05, MIN_GOLD_GAIN_SD = 1.0, MAX_KL = 6.0;

    static ObjectNode build(DemoConfig cfg, RewardReport rm, ScoredSet sft, ScoredSet ppo, GoldCurve curve, Map<String, Double> stageSeconds,
                            double minutes, String out) {
        ObjectNode o = JSON.createObjectNode();
        o.put("run_dir", out);
        o.put("rm_accuracy", rm.accuracy());
        o.put("rm_noise_ceiling", rm.noiseCeiling());
        o.put("rm_roc_auc", rm.rocAuc());
        o.put("rm_ece", rm.ece());
        o.put("rm_eval_pairs", rm.pairs());
        o.put("annotator_agreement", rm.agreement());
        o.put("gold_sft_mean", sft.goldMean());
        o.put("gold_sft_std", sft.goldStd());
        o.put("proxy_sft_mean", sft.proxyMean());
        o.put("gold_ppo_mean", ppo.goldMean());
        o.put("proxy_ppo_mean", ppo.proxyMean());
        o.put("kl_ppo", ppo.klMean());
        double klMax = curve.rows().stream().mapToDouble(r -> r.get("kl").asDouble()).max().orElse(Double.NaN);
        o.put("kl_ppo_max_during_training", klMax);
        double gain = (ppo.goldMean() - sft.goldMean()) / sft.goldStd(); // NaN when every SFT response scores the same
        if (Double.isFinite(gain)) o.put("gold_gain_sd", gain);
        else o.putNull("gold_gain_sd");
        o.put("response_length_sft", sft.responseLength());
        o.put("response_length_ppo", ppo.responseLength());
        ArrayNode bon = o.putArray("best_of_n");
        for (int n : cfg.evaluation().bestOfN()) {
            ObjectNode b = bon.addObject();
            b.put("n", n);
            b.put("kl", GoldEvaluation.bestOfNKl(n));
            b.put("gold_mean", sft.bestOfNGold(n));
            b.put("proxy_mean", sft.bestOfNProxy(n));
        }
        ArrayNode c = o.putArray("ppo_curve");
        curve.rows().forEach(c::add);
        o.put("minutes", minutes);
        ObjectNode stages = o.putObject("stage_seconds");
        stageSeconds.forEach(stages::put);
        ObjectNode t = o.putObject("targets");
        t.put("minutes_le_15", minutes <= MAX_MINUTES);
        t.put("rm_within_5_points_of_ceiling", rm.accuracy() >= rm.noiseCeiling() - MAX_RM_GAP);
        t.put("gold_gain_ge_1_sd", gain >= MIN_GOLD_GAIN_SD);
        t.put("kl_le_6", ppo.klMean() <= MAX_KL && !(klMax > MAX_KL)); // at the end and at every iteration
        ArrayNode missed = o.putArray("targets_missed");
        t.fields().forEachRemaining(e -> {
            if (!e.getValue().asBoolean()) missed.add(e.getKey());
        });
        return o;
    }

    /** The readable version for the console. */
    static String text(ObjectNode s, ScoredSet sft, ScoredSet ppo, java.util.List<String> prompts) {
        StringBuilder b = new StringBuilder();
        b.append(String.format("%nRLHF demo finished in %.1f minutes. Run directory: %s%n", s.get("minutes").asDouble(), s.get("run_dir").asText()));
        b.append(String.format("  reward model    held-out accuracy %.1f%%  (noise ceiling %.1f%%, ROC AUC %.3f; annotators agree on %.1f%% of pairs)%n",
                100 * s.get("rm_accuracy").asDouble(), 100 * s.get("rm_noise_ceiling").asDouble(), s.get("rm_roc_auc").asDouble(),
                100 * s.get("annotator_agreement").asDouble()));
        b.append(String.format("  gold reward     SFT %.3f +- %.3f  ->  PPO %.3f  (%+.2f SD) at KL %.2f nats to the SFT model (at most %.2f in training)%n",
                s.get("gold_sft_mean").asDouble(), s.get("gold_sft_std").asDouble(), s.get("gold_ppo_mean").asDouble(),
                s.get("gold_gain_sd").asDouble(Double.NaN), s.get("kl_ppo").asDouble(), s.get("kl_ppo_max_during_training").asDouble()));
        b.append(String.format("  proxy reward    SFT %.3f  ->  PPO %.3f%n", s.get("proxy_sft_mean").asDouble(), s.get("proxy_ppo_mean").asDouble()));
        b.append("  best-of-n       ");
        s.get("best_of_n").forEach(x -> b.append(String.format("n=%d: gold %.3f (KL %.2f)   ", x.get("n").asInt(), x.get("gold_mean").asDouble(), x.get("kl").asDouble())));
        b.append(String.format("%n  samples before (SFT) and after (PPO), same prompts:%n"));
        for (int p = 0; p < 3 && p * sft.perPrompt() < sft.size() && p * ppo.perPrompt() < ppo.size(); p++) {
            int i = p * sft.perPrompt(), j = p * ppo.perPrompt();
            b.append(String.format("    prompt: %s%n      SFT [gold %+.2f] %s%n      PPO [gold %+.2f] %s%n", prompts.get(p), sft.gold(i),
                    oneLine(sft.text(i)), ppo.gold(j), oneLine(ppo.text(j))));
        }
        if (s.get("targets_missed").isEmpty()) b.append("  all targets met\n");
        else b.append("  targets NOT met: ").append(s.get("targets_missed")).append('\n');
        return b.toString();
    }

    private static String oneLine(String t) {
        String s = t.replace('\n', ' ');
        return s.length() > 100 ? s.substring(0, 100) + "..." : s;
    }
}
