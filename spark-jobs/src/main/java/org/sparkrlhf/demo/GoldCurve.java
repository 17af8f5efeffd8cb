package org.sparkrlhf.demo;

import org.sparkrlhf.data.ChatTemplate;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import org.sparkrlhf.engine.PpoTrainer;
import org.sparkrlhf.preference.Panel;
import org.sparkrlhf.rl.Moments;
import org.sparkrlhf.tokenizer.Tokenizer;

/**
 * Gold and proxy reward against KL over the iterations of PPO, GRPO or RLOO (Gao et al. 2022's
 * over-optimization picture), from each iteration's rollouts: the gold reward is computed here, on the driver, from
 * the response text; PPO itself only ever sees the reward model's score.
 */
final class GoldCurve {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Tokenizer tok;
    private final Panel panel;
    private final List<ObjectNode> rows = new ArrayList<>();

    GoldCurve(Tokenizer tok, Panel panel) {
        this.tok = tok;
        this.panel = panel;
    }

    void add(PpoTrainer.Report r) {
        Moments gold = Moments.EMPTY;
        for (PpoTrainer.Sample s : r.samples()) gold = gold.add(panel.gold(ChatTemplate.responseText(tok, s.response())));
        ObjectNode o = JSON.createObjectNode();
        o.put("iteration", r.iteration());
        o.put("kl", r.klMean());
        o.put("beta", r.beta());
        o.put("proxy_mean", r.scoreMean());
        o.put("gold_mean", gold.count() == 0 ? Double.NaN : gold.mean());
        o.put("gold_std", gold.sampleStd());
        o.put("rollouts", gold.count());
        o.put("iteration_seconds", r.iterationSeconds());
        o.put("critic_seconds", r.criticSeconds());
        if (r.safety() != null) { // Safe RLHF's multiplier and the rollouts' cost, as the driver saw them
            o.put("lambda", r.safety().lambda());
            o.put("cost_mean", r.safety().costMean());
            o.put("reward_mean", r.safety().rewardMean());
            if (!Double.isNaN(r.safety().harmfulCostMean())) // with a limit of the harmful prompts' own: their answers' cost and multiplier
                o.put("harmful_cost_mean", r.safety().harmfulCostMean()).put("harmful_lambda", r.safety().harmfulLambda());
        }
        o.put("source", "training rollouts");
        rows.add(o);
    }

    List<ObjectNode> rows() {
        return rows;
    }
}
