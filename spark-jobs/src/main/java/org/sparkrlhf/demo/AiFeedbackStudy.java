package org.sparkrlhf.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparkrlhf.data.JsonLines;
import org.sparkrlhf.data.RecordFiles;

/**
 * The demo's AI-feedback study ({@code --ai-feedback}), in the files it keeps under
 * {@code OUT/ai-feedback}: people rank a seeded share of the feedback ({@code train/human}); a
 * reward model trained on that share (the judge) ranks the rest ({@code unlabelled}, which keeps
 * the panel's ranking only as the yardstick the label job measures agreement against) into
 * {@code train/ai}; reward models on {@code train/human}, {@code train/ai} and {@code train} (both)
 * are measured on the panel's held-out rankings beside the reward model trained on all of people's.
 */
final class AiFeedbackStudy {
    private AiFeedbackStudy() {}

    static final String HUMAN = "train/human", AI = "train/ai", MIXED = "train", UNLABELLED = "unlabelled", JUDGE_OUT = "judge";
    /** The judge's name in its labels: {@code annotator: ai:rm-human}. */
    static final String JUDGE = "rm-human";

    /** Splits the feedback rankings (seeded, whole rankings) into people's share and the judge's; returns {people's, the judge's}. */
    static long[] split(FileSystem fs, Path feedback, Path study, double humanShare, long seed) throws IOException {
        List<String> rankings = new ArrayList<>();
        for (var f : RecordFiles.snapshot(fs.getConf(), feedback.toString(), "feedback/train")) rankings.addAll(JsonLines.read(fs, new Path(f.path())));
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < rankings.size(); i++) order.add(i);
        java.util.Collections.shuffle(order, new Random(seed));
        int people = (int) Math.round(humanShare * rankings.size());
        if (people < 1 || people >= rankings.size())
            throw new org.sparkrlhf.data.DataException("aiFeedback.humanShare " + humanShare + " of " + rankings.size() + " rankings leaves "
                    + (people < 1 ? "people" : "the judge") + " none; choose a share between " + 1.0 / rankings.size() + " and " + (1 - 1.0 / rankings.size()));
        List<String> human = new ArrayList<>(), rest = new ArrayList<>();
        for (int k = 0; k < order.size(); k++) (k < people ? human : rest).add(rankings.get(order.get(k)));
        JsonLines.write(fs, new Path(study, HUMAN + "/part-00000.jsonl"), human);
        JsonLines.write(fs, new Path(study, UNLABELLED + "/part-00000.jsonl"), rest);
        return new long[]{human.size(), rest.size()};
    }

    /** The judge's labels become training data beside people's (the label job's report and quarantine stay in {@code judge}). */
    static void adoptLabels(FileSystem fs, Path study) throws IOException {
        Path labels = new Path(study, JUDGE_OUT + "/labels"), to = new Path(study, AI);
        if (!fs.rename(labels, to)) throw new IOException("cannot move the judge's labels " + labels + " to " + to);
        for (FileStatus f : fs.listStatus(to)) // Spark's _SUCCESS is hidden already; nothing else but part files is there
            if (!f.getPath().getName().startsWith("part-") && !f.getPath().getName().startsWith("_") && !f.getPath().getName().startsWith("."))
                throw new IOException("unexpected file among the judge's labels: " + f.getPath());
    }

    /** One trained reward model of the study: its labels, how many rankings people made for it, its held-out accuracy. */
    record Model(String labels, long peopleRankings, long judgeRankings, RewardReport report) {}

    static ObjectNode build(long[] counts, JsonNode labelReport, List<Model> models, RewardReport allHuman) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        long total = counts[0] + counts[1];
        o.put("human_share", (double) counts[0] / total);
        o.put("people_rankings", counts[0]);
        o.put("judge_rankings", counts[1]);
        o.put("judge", "ai:" + JUDGE + ": the reward model trained on the people's share");
        JsonNode all = labelReport.path("agreement").path("all");
        o.putObject("judge_agreement_with_panel").put("response_pairs", all.path("response_pairs").asLong())
                .put("agreement", all.path("agreement").asDouble(Double.NaN))
                .put("top_choice", all.path("comparisons").asLong() == 0 ? Double.NaN : all.path("top_choice_agreed").asDouble() / all.path("comparisons").asLong());
        o.put("noise_ceiling", allHuman.noiseCeiling());
        ArrayNode rms = o.putArray("reward_models");
        rms.addObject().put("labels", "human (all)").put("people_rankings", total).put("judge_rankings", 0).put("accuracy", allHuman.accuracy())
                .put("roc_auc", allHuman.rocAuc()).put("labelling_cost_saved", 0.0);
        for (Model m : models)
            rms.addObject().put("labels", m.labels()).put("people_rankings", m.peopleRankings()).put("judge_rankings", m.judgeRankings())
                    .put("accuracy", m.report().accuracy()).put("roc_auc", m.report().rocAuc())
                    .put("labelling_cost_saved", (double) counts[1] / total); // people's share is spent on each: the judge learnt from it
        return o;
    }

    static String text(JsonNode s) {
        StringBuilder b = new StringBuilder();
        JsonNode j = s.get("judge_agreement_with_panel");
        b.append(String.format("%nAI feedback: people ranked %,d of %,d rankings (%.0f%%); the judge (%s) ranked the rest,%n"
                        + "  ordering %.1f%% of response pairs as the panel's rankings do (the panel's own mean judgement: %.1f%%, the noise ceiling), top choice %.1f%%%n",
                s.get("people_rankings").asLong(), s.get("people_rankings").asLong() + s.get("judge_rankings").asLong(), 100 * s.get("human_share").asDouble(),
                s.get("judge").asText(), 100 * j.get("agreement").asDouble(), 100 * s.get("noise_ceiling").asDouble(), 100 * j.get("top_choice").asDouble()));
        b.append(String.format("  %-14s %10s %10s %10s %12s%n", "reward model", "people", "judge", "accuracy", "cost saved"));
        for (JsonNode m : s.get("reward_models"))
            b.append(String.format("  %-14s %,10d %,10d %9.1f%% %11.0f%%%n", m.get("labels").asText(), m.get("people_rankings").asLong(), m.get("judge_rankings").asLong(),
                    100 * m.get("accuracy").asDouble(), 100 * m.get("labelling_cost_saved").asDouble()));
        b.append(String.format("  (held-out accuracy against the panel's rankings; noise ceiling %.1f%%)%n", 100 * s.get("noise_ceiling").asDouble()));
        return b.toString();
    }
}
