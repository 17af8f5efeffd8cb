package org.sparkrlhf.preference;

import java.util.ArrayList;
import java.util.List;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.rl.ExperienceMaker;

/**
 * A written constitution applied by a scoring model: a response's score is how much more likely
 * a language model finds it when a principle is stated before the prompt than when it is not,
 * averaged over the principles: {@code mean_r [log p(response | principle r, prompt) - log p(response | prompt)]}
 * (the pointwise mutual information of principle and response). A response the principles make
 * more likely is one they favour. How well this stands in for people depends on the scoring model;
 * the label job measures it against their rankings.
 */
public final class ConstitutionScore {
    private ConstitutionScore() {}

    /**
     * Scores the responses of one comparison. {@code plain} is the prompt's tokens as the model sees
     * it without a principle, {@code withPrinciple} the same prompt under each principle; every
     * response ends as the model was trained to end one.
     */
    public static double[] score(Gpt lm, int[] plain, List<int[]> withPrinciple, List<int[]> responses) {
        int k = responses.size(), rules = withPrinciple.size();
        List<int[]> prompts = new ArrayList<>(), rs = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            prompts.add(plain);
            rs.add(responses.get(i));
            for (int[] p : withPrinciple) {
                prompts.add(p);
                rs.add(responses.get(i));
            }
        }
        double[][] lp = ExperienceMaker.responseLogProbs(lm, prompts, rs);
        double[] out = new double[k];
        for (int i = 0; i < k; i++) {
            int at = i * (rules + 1);
            double base = sum(lp[at]), gain = 0;
            for (int r = 1; r <= rules; r++) gain += sum(lp[at + r]) - base;
            out[i] = gain / rules;
        }
        return out;
    }

    private static double sum(double[] a) {
        double s = 0;
        for (double v : a) s += v;
        return s;
    }
}
