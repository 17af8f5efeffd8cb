package org.sparkrlhf.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.Function;
import org.sparkrlhf.tensor.Tensor;

/** Central finite differences in double precision against an analytic gradient. */
public final class GradientCheck {
    private GradientCheck() {}

    /**
     * Perturbs every element of {@code x} by +-eps, evaluates {@code loss}, and asserts that the
     * numeric derivative matches {@code analytic} to within {@code 1e-7 + rtol * |numeric|}.
     */
    public static void assertMatches(String what, Tensor x, Tensor analytic, Function<Tensor, Double> loss, double eps, double rtol) {
        double worst = 0;
        int worstAt = -1;
        double nonZero = 0;
        for (int i = 0; i < x.size(); i++) {
            double orig = x.get(i);
            x.set(i, orig + eps);
            double plus = loss.apply(x);
            x.set(i, orig - eps);
            double minus = loss.apply(x);
            x.set(i, orig);
            double numeric = (plus - minus) / (2 * eps);
            double err = Math.abs(numeric - analytic.get(i)) / (1e-7 + rtol * Math.abs(numeric));
            if (Math.abs(numeric) > 1e-9) nonZero++;
            if (err > worst) {
                worst = err;
                worstAt = i;
            }
        }
        if (worst > 1) {
            double orig = x.get(worstAt);
            x.set(worstAt, orig + eps);
            double plus = loss.apply(x);
            x.set(worstAt, orig - eps);
            double minus = loss.apply(x);
            x.set(worstAt, orig);
            throw new AssertionError(what + ": gradient mismatch at element " + worstAt + ": analytic "
                    + analytic.get(worstAt) + ", numeric " + (plus - minus) / (2 * eps));
        }
        assertTrue(nonZero > 0, what + ": every numeric derivative was zero, the check proves nothing");
    }
}
