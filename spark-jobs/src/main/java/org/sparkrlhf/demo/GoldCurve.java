package org.sparkrlhf.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparkrlhf.engine.PpoTrainer;
import org.sparkrlhf.preference.AnnotatorPanel;
import org.sparkrlhf.tokenizer.Tokenizer;

/**
 * Gold and proxy reward against KL over the PPO iterations (Gao et al. 2022's over-optimization
 * picture), from each iteration's rollouts: the gold reward is computed here, on the driver, from
 * the response text; PPO itself only ever sees the reward model's score.
 */
final class GoldCurve {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Tokenizer tok;
    private final AnnotatorPanel panel;
    private final List<ObjectNode> rows = new ArrayList<>();

    GoldCurve(Tokenizer tok, AnnotatorPanel panel) {
        this.tok = tok;
        this.panel = panel;
    }

    void add(PpoTrainer.Report r) {
        double sum = 0, sq = 0;
        int n = r.samples().size();
        for (PpoTrainer.Sample s : r.samples()) {
            double g = panel.gold(FeedbackCollector.responseText(tok, s.response()));
            sum += g;
            sq += g * g;
        }
        ObjectNode o = JSON.createObjectNode();
        o.put("iteration", r.iteration());
        o.put("kl", r.klMean());
        o.put("beta", r.beta());
        o.put("proxy_mean", r.scoreMean());
        o.put("gold_mean", n == 0 ? Double.NaN : sum / n);
        o.put("gold_std", n < 2 ? Double.NaN : Math.sqrt(Math.max(0, (sq - sum * sum / n) / (n - 1))));
        o.put("rollouts", n);
        rows.add(o);
    }

    List<ObjectNode> rows() {
        return rows;
    }

    void write(FileSystem fs, Path file) throws IOException {
        try (OutputStream out = fs.create(file, true)) {
            for (ObjectNode o : rows) out.write((JSON.writeValueAsString(o) + "\n").getBytes(StandardCharsets.UTF_8));
        }
    }
}
