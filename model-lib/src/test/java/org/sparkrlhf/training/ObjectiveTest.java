package org.sparkrlhf.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.sparkrlhf.model.GradientCheck;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.Head;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.tensor.DType;

class ObjectiveTest {
    static final GptConfig LM = GptConfig.of(13, 12, 8, 2, 1);
    static final List<LmExample> SEQS = List.of(
            LmExample.promptResponse(new int[]{1, 2, 3, 4, 5, 6}, 3),
            LmExample.plain(new int[]{7, 8, 9}),
            LmExample.promptResponse(new int[]{10, 11, 12, 1, 2, 3, 4, 5}, 5));

    @Test
    void lmObjectiveIsASumWhoseGradientMatchesFiniteDifferences() {
        Gpt m = Gpt.init(LM, DType.FLOAT64, 1);
        Parameters g = m.newGradients();
        StepStats s = new LanguageModelObjective().accumulate(m, SEQS, 2, g);
        assertEquals(3 + 2 + 3, s.count()); // response tokens only
        GradientCheck.assertMatches("LM objective", m.parameters().flat(), g.flat(),
                x -> new LanguageModelObjective().evaluate(m, SEQS, 2).lossSum(), 1e-5, 1e-5);
    }

    @Test
    void splittingTheBatchAnyWayGivesTheSameGradient() {
        Gpt m = Gpt.init(LM, DType.FLOAT64, 1);
        Parameters whole = m.newGradients(), split = m.newGradients();
        new LanguageModelObjective().accumulate(m, SEQS, 3, whole);
        new LanguageModelObjective().accumulate(m, SEQS.subList(0, 1), 1, split);
        new LanguageModelObjective().accumulate(m, SEQS.subList(1, 3), 1, split);
        for (int i = 0; i < whole.flat().size(); i++) assertEquals(whole.flat().get(i), split.flat().get(i), 1e-12);
    }

    @Test
    void rewardObjectiveOverRankingsMatchesFiniteDifferences() {
        Gpt m = Gpt.init(GptConfig.of(13, 12, 8, 2, 1).withHeads(Head.REWARD), DType.FLOAT64, 2);
        List<PreferenceGroup> groups = List.of(
                PreferenceGroup.ranking(new int[][]{{1, 2, 3}, {1, 2, 4, 5}, {1, 9}}, "a", "helpful"), // 3 pairs
                PreferenceGroup.pair(new int[]{6, 7}, new int[]{6, 8, 9}, 0.5, "b", "harmless"),
                PreferenceGroup.pair(new int[]{3}, new int[]{4}, 0, "a", "helpful"));
        Parameters g = m.newGradients();
        StepStats s = new RewardObjective().accumulate(m, groups, 2, g);
        assertEquals(5, s.count());
        GradientCheck.assertMatches("reward objective", m.parameters().flat(), g.flat(),
                x -> new RewardObjective().evaluate(m, groups, 2).lossSum(), 1e-5, 1e-5);
    }

    @Test
    void rewardObjectiveWithSafetyLabelsMatchesFiniteDifferencesAndWeightZeroIgnoresThem() {
        Gpt m = Gpt.init(GptConfig.of(13, 12, 8, 2, 1).withHeads(Head.REWARD), DType.FLOAT64, 2);
        List<PreferenceGroup> labelled = List.of(
                PreferenceGroup.ranking(new int[][]{{1, 2, 3}, {1, 2, 4, 5}, {1, 9}}, "a", "harmless",
                        new int[]{PreferenceGroup.SAFE, PreferenceGroup.UNLABELLED, PreferenceGroup.UNSAFE}),
                PreferenceGroup.pair(new int[]{6, 7}, new int[]{6, 8, 9}, 0, "b", "harmless"));
        Parameters g = m.newGradients();
        RewardObjective withLabels = new RewardObjective(0.7);
        StepStats s = withLabels.accumulate(m, labelled, 1, g);
        assertEquals(4, s.count(), "pairs are counted; labels add to the loss only");
        GradientCheck.assertMatches("reward objective with safety labels", m.parameters().flat(), g.flat(),
                x -> withLabels.evaluate(m, labelled, 1).lossSum(), 1e-5, 1e-5);

        List<PreferenceGroup> unlabelled = List.of(
                PreferenceGroup.ranking(new int[][]{{1, 2, 3}, {1, 2, 4, 5}, {1, 9}}, "a", "harmless"),
                PreferenceGroup.pair(new int[]{6, 7}, new int[]{6, 8, 9}, 0, "b", "harmless"));
        Parameters ignored = m.newGradients(), none = m.newGradients();
        double lossIgnored = new RewardObjective().accumulate(m, labelled, 1, ignored).lossSum();
        assertEquals(new RewardObjective().accumulate(m, unlabelled, 1, none).lossSum(), lossIgnored, 0.0);
        for (int i = 0; i < none.flat().size(); i++) assertEquals(none.flat().get(i), ignored.flat().get(i), 0.0);
        assertTrue(s.lossSum() > lossIgnored, "the labels' term adds to the loss");
    }

    @Test
    void aRankingOfKGivesAllKChooseTwoPairsBestFirst() {
        PreferenceGroup g = PreferenceGroup.ranking(new int[][]{{1}, {2}, {3}, {4}}, "", "");
        assertEquals(6, g.pairs());
        for (int i = 0; i < g.pairs(); i++) assertTrue(g.chosen()[i] < g.rejected()[i]);
    }
}
