package org.sparkrlhf.training;

import java.io.Serializable;

/**
 * One comparison for DPO: two sequences (prompt + response + EOS) sharing a prompt of
 * {@code promptLength} tokens, and the frozen reference model's summed log-probabilities of the two
 * responses, computed once before training and kept with the data.
 */
public record DpoPair(int[] chosen, int[] rejected, int promptLength, double refChosen, double refRejected) implements Serializable {
    public DpoPair {
        if (promptLength < 1 || chosen.length <= promptLength || rejected.length <= promptLength)
            throw new IllegalArgumentException("each sequence needs its prompt of " + promptLength + " tokens and at least one response token");
    }

    public DpoPair withReference(double refC, double refR) {
        return new DpoPair(chosen, rejected, promptLength, refC, refR);
    }
}
