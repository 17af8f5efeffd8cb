package org.sparkrlhf.annotate;

/**
 * How a round of annotation runs, validated where it is made so a bad value is named before the
 * server starts.
 *
 * @param round             the round's name (items and judgements carry it; a restart with the same name continues it)
 * @param responses         K, responses shown per prompt
 * @param overlapShare      share of items judged by {@code overlapAnnotators} people (for agreement), the rest by one
 * @param overlapAnnotators annotators per overlapping item
 * @param batchPrompts      prompts generated per batch
 * @param aheadItems        unassigned items kept ready; a new batch is generated when fewer remain
 * @param leaseMinutes      how long an item given to an annotator is kept from others
 * @param maxBodyBytes      largest request body accepted
 * @param criterion         the criterion the ranking is for, written into each record
 * @param seed              seeds which items overlap and each annotator's order of the responses
 * @param sessionHours      how long a sign-in lasts
 */
public record AnnotationSettings(String round, int responses, double overlapShare, int overlapAnnotators, int batchPrompts,
                                 int aheadItems, int leaseMinutes, int maxBodyBytes, String criterion, long seed, int sessionHours) {
    public static final String[] LABEL_CRITERIA = {"helpful", "harmless"};
    public static final String[] FLAGS = {"unsafe", "nonsense"};

    public AnnotationSettings {
        if (round == null || !round.matches("[A-Za-z0-9._-]{1,64}"))
            throw new IllegalArgumentException("--round must be 1-64 letters, digits, '.', '_' or '-', got '" + round + "'");
        if (responses < 2 || responses > 9) throw new IllegalArgumentException("--responses must be 2..9 (responses ranked per prompt), got " + responses);
        if (!(overlapShare >= 0 && overlapShare <= 1)) throw new IllegalArgumentException("--overlap must be a share in [0, 1], got " + overlapShare);
        if (overlapAnnotators < 2) throw new IllegalArgumentException("--overlap-annotators must be >= 2, got " + overlapAnnotators);
        if (batchPrompts < 1) throw new IllegalArgumentException("--batch must be >= 1, got " + batchPrompts);
        if (aheadItems < 1) throw new IllegalArgumentException("--ahead must be >= 1, got " + aheadItems);
        if (leaseMinutes < 1) throw new IllegalArgumentException("--lease-minutes must be >= 1, got " + leaseMinutes);
        if (maxBodyBytes < 1024) throw new IllegalArgumentException("--max-body must be >= 1024 bytes, got " + maxBodyBytes);
        if (criterion == null || !criterion.matches("[a-z_]{1,32}")) throw new IllegalArgumentException("--criterion must be 1-32 lower-case letters or '_', got '" + criterion + "'");
        if (sessionHours < 1) throw new IllegalArgumentException("--session-hours must be >= 1, got " + sessionHours);
    }

    /** The defaults, for round {@code round}: K = 4, 20% of items to two annotators. */
    public static AnnotationSettings defaults(String round) {
        return new AnnotationSettings(round, 4, 0.2, 2, 32, 48, 30, 64 * 1024, "overall", 1234, 12);
    }

    public AnnotationSettings withResponses(int k) {
        return new AnnotationSettings(round, k, overlapShare, overlapAnnotators, batchPrompts, aheadItems, leaseMinutes, maxBodyBytes, criterion, seed, sessionHours);
    }

    public AnnotationSettings withOverlap(double share, int annotators) {
        return new AnnotationSettings(round, responses, share, annotators, batchPrompts, aheadItems, leaseMinutes, maxBodyBytes, criterion, seed, sessionHours);
    }
}
