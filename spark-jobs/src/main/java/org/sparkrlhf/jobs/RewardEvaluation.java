package org.sparkrlhf.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.mllib.evaluation.BinaryClassificationMetrics;
import org.sparkrlhf.engine.ModelBytes;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.preference.SafetyLabelLoss;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tensor.Tensor;
import org.sparkrlhf.training.PreferenceGroup;
import org.sparkrlhf.training.RewardObjective;
import scala.Tuple2;

/**
 * Held-out evaluation of a reward model: pairwise accuracy, ROC AUC of its scores separating
 * chosen from rejected responses (Spark MLlib), calibration of sigmoid(r_a - r_b) as a preference
 * probability (expected calibration error over ten bins), accuracy per annotator and per criterion,
 * the share of safety-labelled responses whose score has the label's sign, and the score statistics
 * PPO normalizes rewards with.
 */
final class RewardEvaluation {
    private RewardEvaluation() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One compared pair, scored. */
    record ScoredPair(double chosen, double rejected, String annotator, String criterion) implements Serializable {}

    /** The held-out pairs, scored, and of the responses with a safety label how many the score's sign put on their side of 0. */
    record Scored(List<ScoredPair> pairs, long labelled, long signRight) implements Serializable {}

    static Scored score(JavaSparkContext jsc, Gpt model, JavaRDD<PreferenceGroup> groups) {
        var weights = jsc.broadcast(ModelBytes.of(model));
        List<Scored> parts = groups.mapPartitions(it -> {
            Gpt m = weights.value().model();
            List<ScoredPair> pairs = new ArrayList<>();
            long labelled = 0, signRight = 0;
            while (it.hasNext()) {
                PreferenceGroup g = it.next();
                double[] r = RewardObjective.score(m, List.of(g.sequences()), 16);
                for (int i = 0; i < g.pairs(); i++) pairs.add(new ScoredPair(r[g.chosen()[i]], r[g.rejected()[i]], g.annotator(), g.criterion()));
                SafetyLabelLoss.Result signs = SafetyLabelLoss.compute(Tensor.of(DType.FLOAT64, r), g.safety(), 0, null);
                labelled += signs.labelled();
                signRight += signs.correct();
            }
            return List.of(new Scored(pairs, labelled, signRight)).iterator();
        }).collect();
        weights.unpersist(false);
        List<ScoredPair> pairs = new ArrayList<>();
        long labelled = 0, signRight = 0;
        for (Scored p : parts) {
            pairs.addAll(p.pairs());
            labelled += p.labelled();
            signRight += p.signRight();
        }
        return new Scored(pairs, labelled, signRight);
    }

    static ObjectNode summarize(JavaSparkContext jsc, Scored scored) {
        ObjectNode o = JSON.createObjectNode();
        List<ScoredPair> pairs = scored.pairs();
        int n = pairs.size();
        o.put("pairs", n);
        if (scored.labelled() > 0) { // Safe RLHF's cost-model measure: does the sign tell safe from unsafe
            o.put("safety_labelled", scored.labelled());
            o.put("safety_sign_accuracy", (double) scored.signRight() / scored.labelled());
        }
        if (n == 0) return o;
        double correct = 0;
        List<Tuple2<Object, Object>> scoreLabels = new ArrayList<>();
        double[] binPred = new double[10], binOutcome = new double[10], binCount = new double[10];
        Map<String, double[]> byAnnotator = new TreeMap<>(), byCriterion = new TreeMap<>();
        double sum = 0, sumSq = 0;
        for (int i = 0; i < n; i++) {
            ScoredPair p = pairs.get(i);
            boolean right = p.chosen() > p.rejected();
            if (right) correct++;
            scoreLabels.add(new Tuple2<>(p.chosen(), 1.0));
            scoreLabels.add(new Tuple2<>(p.rejected(), 0.0));
            // calibration: present every other pair the other way round, so outcomes are not all 1
            boolean flip = i % 2 == 1;
            double diff = flip ? p.rejected() - p.chosen() : p.chosen() - p.rejected();
            double prob = 1 / (1 + Math.exp(-diff));
            int bin = Math.min(9, (int) (prob * 10));
            binPred[bin] += prob;
            binOutcome[bin] += flip ? 0 : 1;
            binCount[bin]++;
            tally(byAnnotator, p.annotator(), right);
            tally(byCriterion, p.criterion(), right);
            sum += p.chosen() + p.rejected();
            sumSq += p.chosen() * p.chosen() + p.rejected() * p.rejected();
        }
        o.put("accuracy", correct / n);
        BinaryClassificationMetrics m = new BinaryClassificationMetrics(jsc.parallelize(scoreLabels, 2).rdd());
        o.put("roc_auc", m.areaUnderROC());
        m.unpersist();
        double ece = 0;
        var bins = o.putArray("calibration");
        for (int b = 0; b < 10; b++) {
            if (binCount[b] == 0) continue;
            double pred = binPred[b] / binCount[b], obs = binOutcome[b] / binCount[b];
            ece += Math.abs(pred - obs) * binCount[b] / n;
            bins.addObject().put("bin", b).put("predicted", pred).put("observed", obs).put("count", (long) binCount[b]);
        }
        o.put("ece", ece);
        o.set("accuracy_by_annotator", groupNode(byAnnotator));
        o.set("accuracy_by_criterion", groupNode(byCriterion));
        double mean = sum / (2.0 * n);
        o.put("score_mean", mean);
        o.put("score_std", Math.sqrt(Math.max(0, sumSq / (2.0 * n) - mean * mean)));
        return o;
    }

    private static void tally(Map<String, double[]> m, String key, boolean right) {
        double[] c = m.computeIfAbsent(key.isEmpty() ? "(unknown)" : key, k -> new double[2]);
        c[0] += right ? 1 : 0;
        c[1]++;
    }

    private static ObjectNode groupNode(Map<String, double[]> m) {
        ObjectNode o = JSON.createObjectNode();
        m.forEach((k, c) -> o.putObject(k).put("accuracy", c[0] / c[1]).put("pairs", (long) c[1]));
        return o;
    }
}
