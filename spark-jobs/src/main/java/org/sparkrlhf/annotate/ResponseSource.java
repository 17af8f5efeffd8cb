package org.sparkrlhf.annotate;

import java.util.List;

/**
 * Where a round's responses come from: the policy sampled by the generate job as batches are
 * needed ({@code --policy}), or the output of an earlier {@code generate} run ({@code --responses}).
 * Either gives the same responses for a prompt index every time it is asked.
 */
public interface ResponseSource extends AutoCloseable {
    /** Prompts in the round (the indices run 0 until this). */
    long prompts();

    /** Items for prompt indices {@code from} (inclusive) to {@code to}, with K responses each. */
    List<Item> batch(String round, long from, long to, int k) throws Exception;

    /** What the responses come from, for the admin page and the round's records. */
    String describe();

    @Override
    default void close() {}
}
