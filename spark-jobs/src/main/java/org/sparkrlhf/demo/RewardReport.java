package org.sparkrlhf.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparkrlhf.data.JsonLines;
import org.sparkrlhf.preference.Panel;
import org.sparkrlhf.preference.GoldEvaluation;

/**
 * The reward model against what is achievable: its held-out pairwise accuracy (from the reward
 * job's evaluation), the noise ceiling on the same held-out rankings (how often the panel's mean
 * judgement agrees with the noisy label), and how much the annotators agree with each other.
 */
record RewardReport(double accuracy, double rocAuc, double ece, double noiseCeiling, double agreement, long pairs, JsonNode evaluation) {

    private static final ObjectMapper JSON = new ObjectMapper();

    static RewardReport of(FileSystem fs, String checkpointDir, Path heldOutRankings, Panel panel) throws IOException {
        JsonNode eval;
        try (InputStream in = fs.open(new Path(checkpointDir, "eval.json"))) {
            eval = JSON.readTree(in);
        }
        List<List<String>> groups = new ArrayList<>();
        List<Double> chosen = new ArrayList<>(), rejected = new ArrayList<>();
        for (FileStatus f : fs.listStatus(heldOutRankings)) {
            if (!f.getPath().getName().startsWith("part-")) continue;
            for (String line : JsonLines.read(fs, f.getPath())) {
                JsonNode r = JSON.readTree(line);
                List<String> responses = new ArrayList<>();
                r.get("responses").forEach(x -> responses.add(x.asText()));
                int[] ranking = new int[responses.size()];
                for (int i = 0; i < ranking.length; i++) ranking[i] = r.get("ranking").get(i).asInt();
                groups.add(responses);
                for (int a = 0; a < ranking.length; a++)
                    for (int b = a + 1; b < ranking.length; b++) {
                        chosen.add(panel.gold(responses.get(ranking[a])));
                        rejected.add(panel.gold(responses.get(ranking[b])));
                    }
            }
        }
        double ceiling = GoldEvaluation.noiseCeiling(chosen.stream().mapToDouble(Double::doubleValue).toArray(),
                rejected.stream().mapToDouble(Double::doubleValue).toArray());
        return new RewardReport(eval.path("accuracy").asDouble(Double.NaN), eval.path("roc_auc").asDouble(Double.NaN),
                eval.path("ece").asDouble(Double.NaN), ceiling, panel.agreement(groups), chosen.size(), eval);
    }
}
