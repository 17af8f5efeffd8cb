package org.sparkrlhf.training;

import java.io.Serializable;

/**
 * Two tokenized prompt+response sequences where a person preferred {@code chosen}; an optional
 * margin (how strongly) and who judged, on which criterion, for per-annotator evaluation.
 */
public record PreferencePair(int[] chosen, int[] rejected, double margin, String annotator, String criterion)
        implements Serializable {
    public PreferencePair {
        if (chosen.length == 0 || rejected.length == 0) throw new IllegalArgumentException("preference pair sequences must be non-empty");
        if (!Double.isFinite(margin) || margin < 0) throw new IllegalArgumentException("margin must be finite and >= 0, got " + margin);
    }
}
