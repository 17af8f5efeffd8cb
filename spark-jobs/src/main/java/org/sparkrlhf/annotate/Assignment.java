package org.sparkrlhf.annotate;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Who judges what. Items are handed out in order; an overlapping item (a fixed, seeded share) goes
 * to several annotators so their agreement can be measured, the rest to one. An annotator never
 * gets an item they already had, and keeps the item they hold until they judge or skip it (a
 * reload shows it again). A lease older than the lease time no longer keeps the item from others.
 * The state is rebuilt after a restart by replaying the stored leases, judgements and skips.
 */
final class Assignment {
    /** Why an annotator may not finish an item. */
    enum Refusal { NONE, NOT_YOURS, FINISHED }

    private final AnnotationSettings settings;
    private final long leaseMillis;
    private final Map<String, Integer> order = new HashMap<>();
    private final List<String> items = new ArrayList<>();
    private final Map<String, Map<String, Long>> leases = new HashMap<>(); // item -> annotator -> when
    private final Map<String, Set<String>> judged = new HashMap<>(), skipped = new HashMap<>(); // item -> annotators
    private final Map<String, List<String>> held = new HashMap<>(); // annotator -> items leased, in order
    private int firstOpen; // items before it have all their judgements
    private final Map<String, Integer> judgedBy = new HashMap<>(), skippedBy = new HashMap<>();
    private int needed, made; // judgements the known items need, and those made towards it

    Assignment(AnnotationSettings settings) {
        this.settings = settings;
        this.leaseMillis = settings.leaseMinutes() * 60_000L;
    }

    synchronized void addItems(List<Item> batch) {
        for (Item it : batch) {
            if (order.putIfAbsent(it.id(), items.size()) == null) {
                items.add(it.id());
                needed += needed(it.id());
                made += Math.min(judged.getOrDefault(it.id(), Set.of()).size(), needed(it.id()));
            }
        }
    }

    /** Whether {@code item} is one of the seeded share that several annotators judge. */
    boolean overlaps(String item) {
        long h = org.sparkrlhf.sampling.SampleSeed.of(settings.seed(), item.hashCode(), 7);
        return (h >>> 11) * 0x1.0p-53 < settings.overlapShare();
    }

    int needed(String item) {
        return overlaps(item) ? settings.overlapAnnotators() : 1;
    }

    synchronized void leased(String annotator, String item, long at) {
        leases.computeIfAbsent(item, k -> new LinkedHashMap<>()).putIfAbsent(annotator, at);
        List<String> mine = held.computeIfAbsent(annotator, k -> new ArrayList<>());
        if (!mine.contains(item)) mine.add(item);
    }

    synchronized void judged(String annotator, String item) {
        Set<String> by = judged.computeIfAbsent(item, k -> new HashSet<>());
        if (!by.add(annotator)) return;
        judgedBy.merge(annotator, 1, Integer::sum);
        if (order.containsKey(item) && by.size() <= needed(item)) made++;
    }

    synchronized void skipped(String annotator, String item) {
        if (skipped.computeIfAbsent(item, k -> new HashSet<>()).add(annotator)) skippedBy.merge(annotator, 1, Integer::sum);
    }

    private boolean finishedBy(String annotator, String item) {
        return judged.getOrDefault(item, Set.of()).contains(annotator) || skipped.getOrDefault(item, Set.of()).contains(annotator);
    }

    /** The item {@code annotator} holds and has not finished, else null. */
    synchronized String current(String annotator) {
        for (String item : held.getOrDefault(annotator, List.of())) if (!finishedBy(annotator, item)) return item;
        return null;
    }

    /**
     * The item {@code annotator} should judge now: the one they hold, else the first they have not
     * had that still lacks judgements (counting others' live leases); null when none is left. A new
     * item is returned with {@code isNew} set: the caller stores the lease, then calls {@link #leased}.
     */
    synchronized Pick next(String annotator, long now) {
        String cur = current(annotator);
        if (cur != null) return new Pick(cur, false);
        while (firstOpen < items.size() && judged.getOrDefault(items.get(firstOpen), Set.of()).size() >= needed(items.get(firstOpen))) firstOpen++;
        for (int i = firstOpen; i < items.size(); i++) {
            String item = items.get(i);
            Map<String, Long> l = leases.getOrDefault(item, Map.of());
            if (l.containsKey(annotator)) continue; // had it before: never twice
            if (taken(item, now) < needed(item)) return new Pick(item, true);
        }
        return null;
    }

    record Pick(String item, boolean isNew) {}

    /** Judgements made plus leases held by others who have not finished and whose lease is live. */
    private int taken(String item, long now) {
        int n = judged.getOrDefault(item, Set.of()).size();
        for (Map.Entry<String, Long> e : leases.getOrDefault(item, Map.of()).entrySet()) {
            if (!finishedBy(e.getKey(), item) && now - e.getValue() < leaseMillis) n++;
        }
        return n;
    }

    /** Whether {@code annotator} may judge or skip {@code item}: only an item given to them and not yet finished by them. */
    synchronized Refusal mayFinish(String annotator, String item) {
        if (!leases.getOrDefault(item, Map.of()).containsKey(annotator)) return Refusal.NOT_YOURS;
        if (finishedBy(annotator, item)) return Refusal.FINISHED;
        return Refusal.NONE;
    }

    /** When {@code annotator} was given {@code item}, or -1. */
    synchronized long leasedAt(String annotator, String item) {
        Long t = leases.getOrDefault(item, Map.of()).get(annotator);
        return t == null ? -1 : t;
    }

    /** Items nobody holds or has judged: the stock that generation keeps ahead of the annotators. */
    synchronized int untouched() {
        int n = 0;
        for (int i = firstOpen; i < items.size(); i++) if (!leases.containsKey(items.get(i))) n++;
        return n;
    }

    /** An annotator's own counts, and the judgements the round still needs from anyone (kept as counters: asked on every request). */
    record Progress(int judged, int skipped, int left) {}

    synchronized Progress progress(String annotator) {
        return new Progress(judgedBy.getOrDefault(annotator, 0), skippedBy.getOrDefault(annotator, 0), needed - made);
    }

    /** Round totals: items known, judgements needed by them, judgements made. */
    record Totals(int items, int needed, int judgements, int complete, int overlapping) {}

    synchronized Totals totals() {
        int need = 0, made = 0, complete = 0, overlapping = 0;
        for (String item : items) {
            int n = needed(item), got = judged.getOrDefault(item, Set.of()).size();
            need += n;
            made += Math.min(got, n);
            if (got >= n) complete++;
            if (n > 1) overlapping++;
        }
        return new Totals(items.size(), need, made, complete, overlapping);
    }
}
