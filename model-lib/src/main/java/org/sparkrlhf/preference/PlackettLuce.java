package org.sparkrlhf.preference;

import java.util.SplittableRandom;

/**
 * A noisy ranking from utilities (Bradley-Terry over a whole list): the best is drawn with
 * probability proportional to exp(u / temperature), then the best of the rest, and so on. Two items
 * are ordered as P(a over b) = sigmoid((u_a - u_b) / temperature), the simulated panels' noise.
 */
public final class PlackettLuce {
    private PlackettLuce() {}

    /** Indices of {@code u}, best first. */
    public static int[] sample(double[] u, double temperature, SplittableRandom rng) {
        int k = u.length;
        boolean[] taken = new boolean[k];
        int[] order = new int[k];
        for (int pos = 0; pos < k; pos++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < k; i++) if (!taken[i]) max = Math.max(max, u[i] / temperature);
            double total = 0;
            double[] w = new double[k];
            for (int i = 0; i < k; i++) if (!taken[i]) total += w[i] = Math.exp(u[i] / temperature - max);
            double x = rng.nextDouble() * total;
            int pick = -1;
            for (int i = 0; i < k && pick < 0; i++) {
                if (taken[i]) continue;
                x -= w[i];
                if (x < 0) pick = i;
            }
            if (pick < 0) for (int i = k - 1; i >= 0 && pick < 0; i--) if (!taken[i]) pick = i; // rounding at the end of the range
            taken[pick] = true;
            order[pos] = pick;
        }
        return order;
    }
}
