package org.sparkrlhf.rl;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A set of prompts by their tokens: under a safety constraint, the prompts known to be harmful
 * (red-team prompts), whose answers a limit of their own holds. Ranks tell a rollout's prompt by
 * its tokens, so the prompts' data itself need not change.
 */
public final class PromptSet implements Serializable {
    private final Set<List<Integer>> prompts = new HashSet<>();

    public PromptSet(Collection<int[]> prompts) {
        for (int[] p : prompts) this.prompts.add(key(p));
    }

    public boolean contains(int[] prompt) {
        return prompts.contains(key(prompt));
    }

    public int size() {
        return prompts.size();
    }

    private static List<Integer> key(int[] prompt) {
        return Arrays.stream(prompt).boxed().toList();
    }
}
