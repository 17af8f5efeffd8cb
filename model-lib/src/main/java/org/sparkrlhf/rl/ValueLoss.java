package org.sparkrlhf.rl;

import org.sparkrlhf.tensor.Tensor;

/**
 * The critic's clipped value loss: {@code 0.5 max((V - R)^2, (V_old + clip(V - V_old, -c, c) - R)^2)},
 * averaged over masked tokens. With clip <= 0 it is the plain squared error.
 */
public final class ValueLoss {
    private ValueLoss() {}

    /** Returns the loss; writes d loss / d values into {@code dValues} when not null (overwritten). */
    public static double compute(Tensor values, double[] oldValues, double[] returns, double[] mask,
                                 double clip, Tensor dValues) {
        double count = 0;
        for (double m : mask) count += m;
        if (!(count > 0)) throw new IllegalArgumentException("value-loss mask selects no tokens");
        return compute(values, oldValues, returns, mask, clip, count, dValues);
    }

    /** The same divided by {@code normalizer} instead of the mask's total (1: a sum). */
    public static double compute(Tensor values, double[] oldValues, double[] returns, double[] mask,
                                 double clip, double normalizer, Tensor dValues) {
        double count = normalizer;
        double loss = 0;
        for (int i = 0; i < returns.length; i++) {
            if (mask[i] == 0) {
                if (dValues != null) dValues.set(i, 0.0);
                continue;
            }
            double w = mask[i] / count, v = values.get(i), err = v - returns[i];
            double grad = err;
            double sq = err * err;
            if (clip > 0) {
                double delta = v - oldValues[i];
                double vc = oldValues[i] + Math.min(Math.max(delta, -clip), clip);
                double errC = vc - returns[i];
                if (errC * errC > sq) { // the clipped branch is the max: its gradient flows only inside the clip range
                    sq = errC * errC;
                    grad = Math.abs(delta) < clip ? errC : 0.0;
                }
            }
            loss += 0.5 * w * sq;
            if (dValues != null) dValues.set(i, w * grad);
        }
        return loss;
    }
}
