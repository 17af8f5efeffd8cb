package org.sparkrlhf.preference;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.rl.ExperienceMaker;
import org.sparkrlhf.tensor.DType;

/** The constitution's score is the principles' mean log-likelihood gain, each sequence scored alone. */
class ConstitutionScoreTest {
    @Test
    void meanLogLikelihoodGainOverPrinciples() {
        Gpt lm = Gpt.init(GptConfig.of(32, 48, 32, 2, 1), DType.FLOAT32, 4);
        int[] plain = {1, 2, 3}, ruleA = {9, 9, 1, 2, 3}, ruleB = {7, 1, 2, 3};
        List<int[]> responses = List.of(new int[]{4, 5, 31}, new int[]{6, 31});
        double[] s = ConstitutionScore.score(lm, plain, List.of(ruleA, ruleB), responses);
        for (int i = 0; i < 2; i++) { // by hand: one sequence at a time
            int[] r = responses.get(i);
            double base = total(lm, plain, r), a = total(lm, ruleA, r), b = total(lm, ruleB, r);
            assertEquals(((a - base) + (b - base)) / 2, s[i], 1e-4, "response " + i);
        }
    }

    private static double total(Gpt lm, int[] prompt, int[] response) {
        double t = 0;
        for (double v : ExperienceMaker.responseLogProbs(lm, List.of(prompt), List.of(response))[0]) t += v;
        return t;
    }
}
