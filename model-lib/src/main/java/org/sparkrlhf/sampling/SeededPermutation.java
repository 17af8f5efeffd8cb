package org.sparkrlhf.sampling;

import java.util.Random;

/**
 * A permutation of 0..n-1 fixed by a seed (Fisher-Yates over {@link Random}, whose sequence Java
 * specifies): the same seed gives the same order on any JVM, so a retried task, a resumed run or a
 * reloaded page sees what it saw before.
 */
public final class SeededPermutation {
    private SeededPermutation() {}

    public static int[] of(int n, long seed) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        Random r = new Random(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1), t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
