package org.sparkrlhf.training;

import java.io.Serializable;

/**
 * Every comparison a person made among responses to one prompt, kept together as InstructGPT
 * does: each response (prompt + response tokens) is scored once, and all the pairs share those
 * scores. A ranking of K responses gives K(K-1)/2 pairs; a chosen/rejected record gives one.
 *
 * @param sequences  tokenized prompt + response, one per response
 * @param chosen     for each pair, the index of the preferred sequence
 * @param rejected   for each pair, the other one
 * @param margins    per-pair margin (how much better), 0 for none
 * @param annotator  who judged ("" if unknown)
 * @param criterion  what was judged, e.g. helpfulness or harmlessness ("" if unknown)
 * @param safety     per sequence, the annotator's own verdict: {@link #SAFE}, {@link #UNSAFE} or
 *                   {@link #UNLABELLED} (Safe RLHF's cost data labels each response so)
 */
public record PreferenceGroup(int[][] sequences, int[] chosen, int[] rejected, double[] margins, String annotator, String criterion, int[] safety)
        implements Serializable {
    public static final int SAFE = 1, UNSAFE = -1, UNLABELLED = 0;

    /** Comparisons without safety labels. */
    public PreferenceGroup(int[][] sequences, int[] chosen, int[] rejected, double[] margins, String annotator, String criterion) {
        this(sequences, chosen, rejected, margins, annotator, criterion, null);
    }

    public PreferenceGroup {
        if (sequences.length < 2) throw new IllegalArgumentException("a preference group needs at least 2 responses");
        if (chosen.length == 0 || chosen.length != rejected.length || margins.length != chosen.length)
            throw new IllegalArgumentException("chosen, rejected and margins must have the same, positive length");
        for (int i = 0; i < chosen.length; i++) {
            if (chosen[i] == rejected[i] || chosen[i] < 0 || rejected[i] < 0 || chosen[i] >= sequences.length || rejected[i] >= sequences.length)
                throw new IllegalArgumentException("pair " + i + " compares invalid responses " + chosen[i] + " and " + rejected[i]);
            if (!Double.isFinite(margins[i]) || margins[i] < 0) throw new IllegalArgumentException("margin must be finite and >= 0, got " + margins[i]);
        }
        for (int[] s : sequences) if (s.length == 0) throw new IllegalArgumentException("a response sequence is empty");
        annotator = annotator == null ? "" : annotator;
        criterion = criterion == null ? "" : criterion;
        if (safety == null) safety = new int[sequences.length];
        if (safety.length != sequences.length)
            throw new IllegalArgumentException("safety labels: " + safety.length + " for " + sequences.length + " responses");
        for (int v : safety) if (v != SAFE && v != UNSAFE && v != UNLABELLED) throw new IllegalArgumentException("a safety label must be 1, -1 or 0, got " + v);
    }

    /** All pairs of a best-to-worst ranking of the sequences. */
    public static PreferenceGroup ranking(int[][] sequencesBestFirst, String annotator, String criterion) {
        return ranking(sequencesBestFirst, annotator, criterion, null);
    }

    /** The same, with each sequence's safety label in the same order (null: none). */
    public static PreferenceGroup ranking(int[][] sequencesBestFirst, String annotator, String criterion, int[] safety) {
        int k = sequencesBestFirst.length, n = k * (k - 1) / 2, p = 0;
        int[] c = new int[n], r = new int[n];
        for (int i = 0; i < k; i++)
            for (int j = i + 1; j < k; j++, p++) {
                c[p] = i;
                r[p] = j;
            }
        return new PreferenceGroup(sequencesBestFirst, c, r, new double[n], annotator, criterion, safety);
    }

    public static PreferenceGroup pair(int[] chosen, int[] rejected, double margin, String annotator, String criterion) {
        return new PreferenceGroup(new int[][]{chosen, rejected}, new int[]{0}, new int[]{1}, new double[]{margin}, annotator, criterion);
    }

    public int pairs() {
        return chosen.length;
    }
}
