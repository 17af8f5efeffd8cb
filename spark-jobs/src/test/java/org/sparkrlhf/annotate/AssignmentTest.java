package org.sparkrlhf.annotate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Who gets what: overlap share, never the same item twice, the held item kept, leases that lapse. */
class AssignmentTest {
    static List<Item> items(int n) {
        List<Item> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(new Item(Item.id("r", i), "r", i, "p" + i, List.of("a", "b", "c", "d")));
        return out;
    }

    /** Annotators take turns judging until nothing is left; returns item -> annotators who judged it. */
    static Map<String, Set<String>> drain(Assignment a, List<String> people, long now) {
        Map<String, Set<String>> by = new HashMap<>();
        boolean any = true;
        while (any) {
            any = false;
            for (String who : people) {
                Assignment.Pick p = a.next(who, now);
                if (p == null) continue;
                any = true;
                if (p.isNew()) a.leased(who, p.item(), now);
                assertEquals(Assignment.Refusal.NONE, a.mayFinish(who, p.item()));
                assertTrue(by.computeIfAbsent(p.item(), k -> new HashSet<>()).add(who), who + " got " + p.item() + " twice");
                a.judged(who, p.item());
                assertEquals(Assignment.Refusal.FINISHED, a.mayFinish(who, p.item()));
            }
        }
        return by;
    }

    @Test
    void overlappingShareGoesToTwoOthersToOne() {
        AnnotationSettings s = AnnotationSettings.defaults("r").withOverlap(0.2, 2);
        Assignment a = new Assignment(s);
        a.addItems(items(1000));
        Map<String, Set<String>> by = drain(a, List.of("ann", "ben", "cat"), 0);
        assertEquals(1000, by.size());
        int overlapping = 0;
        for (var e : by.entrySet()) {
            int want = a.overlaps(e.getKey()) ? 2 : 1;
            assertEquals(want, e.getValue().size(), e.getKey() + " " + e.getValue());
            if (want == 2) overlapping++;
        }
        assertTrue(overlapping > 150 && overlapping < 250, "about 20% of 1000 items overlap: " + overlapping);
        assertEquals(new Assignment.Totals(1000, 1000 + overlapping, 1000 + overlapping, 1000, overlapping), a.totals());
        int all = 0;
        for (String who : List.of("ann", "ben", "cat")) {
            assertEquals(0, a.progress(who).left(), "nothing left in the round");
            assertEquals(0, a.progress(who).skipped());
            all += a.progress(who).judged();
        }
        assertEquals(1000 + overlapping, all);
    }

    @Test
    void everyItemToThreeWhenAllOverlap() {
        Assignment a = new Assignment(AnnotationSettings.defaults("r").withOverlap(1.0, 3));
        a.addItems(items(30));
        Map<String, Set<String>> by = drain(a, List.of("ann", "ben", "cat", "dan"), 0);
        by.values().forEach(v -> assertEquals(3, v.size()));
        assertEquals(30, by.size());
    }

    @Test
    void heldItemIsKeptSkippedNeverReturnsOthersWaitForTheLease() {
        Assignment a = new Assignment(AnnotationSettings.defaults("r").withOverlap(0, 2));
        a.addItems(items(3));
        Assignment.Pick first = a.next("ann", 0);
        assertTrue(first.isNew());
        a.leased("ann", first.item(), 0);
        assertEquals(new Assignment.Pick(first.item(), false), a.next("ann", 1000), "a reload shows the item held");
        Assignment.Pick ben = a.next("ben", 1000);
        assertNotEquals(first.item(), ben.item(), "a held item is not given to a second annotator");
        a.leased("ben", ben.item(), 1000);
        assertEquals(Assignment.Refusal.NOT_YOURS, a.mayFinish("ben", first.item()));
        a.skipped("ann", first.item());
        Assignment.Pick after = a.next("ann", 2000);
        assertNotEquals(first.item(), after.item(), "a skipped item does not come back");
        a.leased("ann", after.item(), 2000);
        // ann's skip freed her first item for others; ben holds his, so cat gets it
        assertEquals(first.item(), a.next("cat", 2000).item());
        // a lease lapses: after 30 minutes ben's item may go to someone else
        long later = 1000 + 31 * 60_000L;
        a.judged("ann", after.item());
        Assignment.Pick dan = a.next("dan", later);
        assertTrue(dan.item().equals(ben.item()) || dan.item().equals(first.item()), dan.toString());
        assertNull(new Assignment(AnnotationSettings.defaults("r")).next("x", 0), "no items: nothing to give");
    }

    @Test
    void overlapIsSeededByItemNotByOrder() {
        Assignment a = new Assignment(AnnotationSettings.defaults("r"));
        Assignment b = new Assignment(AnnotationSettings.defaults("r"));
        for (Item it : items(200)) assertEquals(a.overlaps(it.id()), b.overlaps(it.id()));
        assertNotEquals(0, items(200).stream().filter(it -> a.overlaps(it.id())).count());
    }
}
