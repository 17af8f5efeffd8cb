package org.sparkrlhf.rl;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.Head;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.optim.AdamW;
import org.sparkrlhf.optim.LrSchedule;
import org.sparkrlhf.sampling.SamplingConfig;
import org.sparkrlhf.tensor.DType;

/** PPO in one JVM against a reward with a known optimum: the frequency of one token. */
class PpoLearnsTest {

    @Test
    void ppoRaisesAKnownRewardWhileKlStaysBounded() {
        GptConfig pc = GptConfig.of(32, 40, 64, 4, 2);
        Gpt policy = Gpt.init(pc, DType.FLOAT32, 1), reference = policy.frozenCopy();
        Gpt critic = Gpt.init(pc.withHeads(Head.VALUE), DType.FLOAT32, 2);
        critic.parameters().copySharedFrom(policy.parameters());
        AdamW popt = new AdamW(AdamW.Config.defaults(LrSchedule.constant(2e-3)), policy.parameters().layout(), DType.FLOAT32);
        AdamW copt = new AdamW(AdamW.Config.defaults(LrSchedule.constant(2e-3)), critic.parameters().layout(), DType.FLOAT32);
        PpoSettings s = PpoSettings.defaults();
        RewardFunction reward = RewardFunction.tokenFrequency(7);
        SplittableRandom r = new SplittableRandom(3);
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < 32; i++) prompts.add(r.ints(6, 0, 32).toArray());
        KlController kl = KlController.adaptive(0.1, 6.0, 100);
        List<Double> scores = new ArrayList<>(), kls = new ArrayList<>();
        for (int it = 0; it < 25; it++) {
            long[] seeds = new long[prompts.size()];
            for (int i = 0; i < seeds.length; i++) seeds[i] = it * 1000L + i;
            List<Experience> exp = ExperienceMaker.make(prompts, seeds, new ExperienceMaker.Models(policy, reference, critic, reward),
                    new ExperienceMaker.Settings(SamplingConfig.of(1.0, 16), 0, 31, new ExperienceMaker.ScoreNorm(0, 0.25), s, 16), kl.beta()).experiences();
            Moments adv = Moments.EMPTY;
            double score = 0, meanKl = 0;
            for (Experience e : exp) {
                adv = adv.merge(Moments.of(e.advantages()));
                score += e.score() / exp.size();
                meanKl += e.klSum() / exp.size();
            }
            scores.add(score);
            kls.add(meanKl);
            kl.update(meanKl, exp.size());
            for (int epoch = 0; epoch < 4; epoch++) {
                for (int m = 0; m < 2; m++) {
                    Parameters pg = policy.newGradients(), cg = critic.newGradients();
                    PpoUpdate.Stats st = PpoUpdate.accumulate(policy, critic, exp.subList(m * 16, m * 16 + 16), adv, s, pg, cg);
                    pg.flat().scale(1 / st.tokens());
                    cg.flat().scale(1 / st.tokens());
                    popt.step(policy.parameters(), pg);
                    copt.step(critic.parameters(), cg);
                }
            }
        }
        System.out.printf("PPO in-process: score by iteration %s%nKL by iteration %s%n", scores, kls);
        double first = scores.get(0), last = (scores.get(22) + scores.get(23) + scores.get(24)) / 3;
        assertTrue(last > first + 0.2, "reward rose: " + scores);
        double lateKl = (kls.get(22) + kls.get(23) + kls.get(24)) / 3;
        assertTrue(lateKl < 1.5 * 6.0, "the adaptive controller holds KL near its target of 6 nats: " + kls + " beta " + kl.beta());
    }
}
