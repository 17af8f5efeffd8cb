package org.sparkrlhf.rl;

import java.io.Serializable;

/**
 * Count, mean and sum of squared deviations, mergeable across partitions (Chan et al.), so that
 * advantages are whitened with statistics of the whole batch, not of one executor's share.
 */
public record Moments(long count, double mean, double m2) implements Serializable {
    public static final Moments EMPTY = new Moments(0, 0, 0);

    public static Moments of(double[] values) {
        Moments m = EMPTY;
        for (double v : values) m = m.add(v);
        return m;
    }

    public Moments add(double x) {
        long n = count + 1;
        double d = x - mean, mean2 = mean + d / n;
        return new Moments(n, mean2, m2 + d * (x - mean2));
    }

    public Moments merge(Moments o) {
        if (o.count == 0) return this;
        if (count == 0) return o;
        long n = count + o.count;
        double d = o.mean - mean;
        return new Moments(n, mean + d * o.count / n, m2 + o.m2 + d * d * count * o.count / n);
    }

    /** Population variance (what whitening divides by). */
    public double variance() {
        return count == 0 ? 0 : m2 / count;
    }

    public double std() {
        return Math.sqrt(variance());
    }

    /** Sample standard deviation (n - 1 in the denominator): the spread of a population these values were drawn from. */
    public double sampleStd() {
        return count < 2 ? Double.NaN : Math.sqrt(m2 / (count - 1));
    }

    /** (x - mean) / sqrt(var + eps), or only the scaling when {@code shiftMean} is false. */
    public double whiten(double x, boolean shiftMean) {
        return (shiftMean ? x - mean : x) / Math.sqrt(variance() + 1e-8);
    }
}
