package org.sparkrlhf.rl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.sampling.SamplingConfig;
import org.sparkrlhf.tensor.DType;

/** GRPO's and RLOO's experience: K samples per prompt, group advantages on every token, no critic read or trained. */
class CriticFreeExperienceTest {
    static final GptConfig C = GptConfig.of(13, 24, 8, 2, 1);

    static ExperienceMaker.Made make(Advantage method, Gpt policy) {
        Gpt reference = Gpt.init(C, DType.FLOAT32, 1);
        ExperienceMaker.Settings s = new ExperienceMaker.Settings(SamplingConfig.of(1.0, 5, 12), 0, 12, new ExperienceMaker.ScoreNorm(0.1, 0.5),
                PpoSettings.defaults(), 4);
        List<int[]> prompts = List.of(new int[] {1, 2}, new int[] {3, 4, 5}, new int[] {6});
        long[] seeds = new long[12];
        for (int i = 0; i < seeds.length; i++) seeds[i] = 100 + i;
        return ExperienceMaker.makeGroups(prompts, 4, seeds, new ExperienceMaker.Models(policy, reference, null, RewardFunction.tokenFrequency(3)), s,
                0.05, method);
    }

    @Test
    void rlooAdvantagesSumToZeroInEachGroupAndCoverEveryToken() {
        List<Experience> e = make(Advantage.RLOO, Gpt.init(C, DType.FLOAT32, 1)).experiences();
        assertEquals(12, e.size());
        for (int g = 0; g < 12; g += 4) {
            double sum = 0;
            for (int i = g; i < g + 4; i++) {
                Experience x = e.get(i);
                assertArrayEquals(e.get(g).prompt(), x.prompt(), "a group shares its prompt");
                for (double a : x.advantages()) assertEquals(x.advantages()[0], a, 0.0, "one advantage per response");
                for (double v : x.oldValues()) assertEquals(0.0, v, 0.0, "no critic");
                sum += x.advantages()[0];
            }
            assertEquals(0.0, sum, 1e-9, "leave-one-out baselines cancel over the group");
        }
    }

    @Test
    void grpoAdvantagesAreStandardizedWithinEachGroup() {
        List<Experience> e = make(Advantage.GRPO, Gpt.init(C, DType.FLOAT32, 2)).experiences();
        for (int g = 0; g < 12; g += 4) {
            double mean = 0, var = 0;
            for (int i = g; i < g + 4; i++) mean += e.get(i).advantages()[0] / 4;
            for (int i = g; i < g + 4; i++) var += Math.pow(e.get(i).advantages()[0] - mean, 2) / 3;
            assertEquals(0.0, mean, 1e-9);
            assertTrue(Math.abs(var - 1) < 1e-3 || var == 0, "sample variance 1 (or a group of equal rewards): " + var);
        }
        assertThrows(IllegalArgumentException.class, () -> make(Advantage.GAE, Gpt.init(C, DType.FLOAT32, 2)));
    }

    /** An update without a critic: no value loss, a policy gradient, and GRPO's KL term moving it when the policy left its reference. */
    @Test
    void updatesRunWithoutACriticAndTheKlTermPullsBack() {
        Gpt policy = Gpt.init(C, DType.FLOAT32, 3);
        List<Experience> e = make(Advantage.GRPO, policy).experiences();
        Parameters without = policy.newGradients(), with = policy.newGradients();
        PpoUpdate.Stats st = PpoUpdate.accumulate(policy, null, e, null, PpoSettings.defaults(), without, null, 0.0);
        PpoUpdate.accumulate(policy, null, e, null, PpoSettings.defaults(), with, null, 0.5);
        assertEquals(0.0, st.valueLoss(), 0.0);
        assertTrue(without.flat().sumOfSquares() > 0);
        double diff = 0;
        for (int i = 0; i < with.flat().size(); i++) diff += Math.abs(with.flat().get(i) - without.flat().get(i));
        assertTrue(diff > 0, "the policy (seed 3) differs from the reference (seed 1): the KL term has a gradient");
    }
}
