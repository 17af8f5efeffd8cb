package org.sparkrlhf.preference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Pairwise agreement, against counts made by hand. */
class RankingAgreementTest {
    @Test
    void sharesOfResponsePairsOrderedAlike() {
        assertEquals(new RankingAgreement.Tally(3, 3), RankingAgreement.between(new int[]{0, 1, 2}, new int[]{0, 1, 2}));
        assertEquals(new RankingAgreement.Tally(3, 0), RankingAgreement.between(new int[]{0, 1, 2}, new int[]{2, 1, 0}));
        // one adjacent swap of four: 5 of the 6 pairs keep their order
        assertEquals(new RankingAgreement.Tally(6, 5), RankingAgreement.between(new int[]{0, 1, 2, 3}, new int[]{1, 0, 2, 3}));
        // best-first lists name responses, not positions: [2,0,1] puts 2 first, 1 last
        assertEquals(new RankingAgreement.Tally(3, 2), RankingAgreement.between(new int[]{2, 0, 1}, new int[]{0, 2, 1}));
    }

    @Test
    void perAnnotatorOverSharedItems() {
        Map<String, RankingAgreement.Tally> t = RankingAgreement.of(List.of(
                new RankingAgreement.Ranking("x", "alice", new int[]{0, 1, 2}),
                new RankingAgreement.Ranking("x", "bob", new int[]{0, 2, 1}), // 2 of 3 with alice
                new RankingAgreement.Ranking("y", "alice", new int[]{0, 1, 2}),
                new RankingAgreement.Ranking("y", "bob", new int[]{0, 1, 2}), // 3 of 3 with alice
                new RankingAgreement.Ranking("y", "carol", new int[]{2, 1, 0}), // 0 of 3 with each
                new RankingAgreement.Ranking("z", "dave", new int[]{1, 0, 2}))); // alone: not compared
        assertEquals(new RankingAgreement.Tally(9, 5), t.get("alice"));
        assertEquals(new RankingAgreement.Tally(9, 5), t.get("bob"));
        assertEquals(new RankingAgreement.Tally(6, 0), t.get("carol"));
        assertEquals(new RankingAgreement.Tally(12, 5), t.get(""));
        assertTrue(!t.containsKey("dave"));
        assertEquals(5.0 / 9, t.get("alice").rate(), 1e-12);
    }
}
