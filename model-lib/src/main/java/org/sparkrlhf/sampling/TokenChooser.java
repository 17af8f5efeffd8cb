package org.sparkrlhf.sampling;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.sparkrlhf.tensor.Tensor;

/**
 * Picks one token from one row of logits: temperature, then top-k, then top-p (nucleus), then one
 * uniform draw from the row's own generator. Also reports the token's log-probability under the
 * temperature-scaled distribution before truncation (what PPO treats as the behaviour policy).
 */
final class TokenChooser {
    private final double[] probs;
    private final Integer[] order;

    TokenChooser(int vocabSize) {
        probs = new double[vocabSize];
        order = new Integer[vocabSize];
    }

    /** Returns the chosen token; writes its log-probability to {@code logProbOut[0]}. */
    int choose(Tensor logits, int off, SamplingConfig cfg, SplittableRandom rng, double[] logProbOut) {
        int v = probs.length;
        if (cfg.temperature() == 0) { // greedy: ties go to the lowest id
            int best = 0;
            for (int j = 1; j < v; j++) if (logits.get(off + j) > logits.get(off + best)) best = j;
            logProbOut[0] = 0.0;
            rng.nextDouble(); // one draw per step whatever the mode, so streams stay aligned
            return best;
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < v; j++) max = Math.max(max, logits.get(off + j) / cfg.temperature());
        double sum = 0;
        for (int j = 0; j < v; j++) {
            probs[j] = Math.exp(logits.get(off + j) / cfg.temperature() - max);
            sum += probs[j];
        }
        double logSum = Math.log(sum) + max;

        int keep = v;
        boolean truncate = (cfg.topK() > 0 && cfg.topK() < v) || cfg.topP() < 1;
        if (truncate) {
            for (int j = 0; j < v; j++) order[j] = j;
            Arrays.sort(order, (a, b) -> probs[a] != probs[b] ? Double.compare(probs[b], probs[a]) : Integer.compare(a, b));
            if (cfg.topK() > 0) keep = Math.min(keep, cfg.topK());
            if (cfg.topP() < 1) {
                double cum = 0;
                for (int i = 0; i < keep; i++) {
                    cum += probs[order[i]] / sum;
                    if (cum >= cfg.topP()) {
                        keep = i + 1;
                        break;
                    }
                }
            }
        }
        double kept = 0;
        for (int i = 0; i < keep; i++) kept += probs[truncate ? order[i] : i];
        double u = rng.nextDouble() * kept, cum = 0;
        int chosen = truncate ? order[keep - 1] : v - 1;
        for (int i = 0; i < keep; i++) {
            int tok = truncate ? order[i] : i;
            cum += probs[tok];
            if (u < cum) {
                chosen = tok;
                break;
            }
        }
        logProbOut[0] = logits.get(off + chosen) / cfg.temperature() - logSum;
        return chosen;
    }
}
