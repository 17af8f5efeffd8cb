package org.sparkrlhf.rl;

/**
 * Generalized advantage estimation (Schulman et al. 2016) over one response:
 * delta_t = r_t + gamma V_{t+1} - V_t with V_T = 0 after the last token, and
 * A_t = delta_t + gamma lambda A_{t+1}. Returns are A_t + V_t, the critic's regression targets.
 */
public final class Gae {
    private Gae() {}

    /** Advantages and returns, one per response token. */
    public record Result(double[] advantages, double[] returns) {}

    public static Result compute(double[] rewards, double[] values, double gamma, double lambda) {
        if (rewards.length != values.length) throw new IllegalArgumentException("rewards (" + rewards.length + ") and values (" + values.length + ") differ in length");
        if (!(gamma >= 0 && gamma <= 1) || !(lambda >= 0 && lambda <= 1))
            throw new IllegalArgumentException("gamma and lambda must be in [0, 1], got " + gamma + ", " + lambda);
        int n = rewards.length;
        double[] adv = new double[n], ret = new double[n];
        double next = 0, nextValue = 0;
        for (int t = n - 1; t >= 0; t--) {
            double delta = rewards[t] + gamma * nextValue - values[t];
            next = delta + gamma * lambda * next;
            adv[t] = next;
            ret[t] = next + values[t];
            nextValue = values[t];
        }
        return new Result(adv, ret);
    }
}
