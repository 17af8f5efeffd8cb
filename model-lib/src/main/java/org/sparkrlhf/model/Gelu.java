package org.sparkrlhf.model;

import org.sparkrlhf.tensor.Tensor;

/** GELU, tanh form as in GPT-2: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
final class Gelu {
    private Gelu() {}

    private static final double K = Math.sqrt(2.0 / Math.PI);
    private static final double C = 0.044715;

    static void forward(Tensor out, Tensor x, int n) {
        for (int i = 0; i < n; i++) {
            double v = x.get(i);
            out.set(i, 0.5 * v * (1 + tanh(x, K * (v + C * v * v * v))));
        }
    }

    /** dx = dout * gelu'(x), overwriting dx. */
    static void backward(Tensor dx, Tensor dout, Tensor x, int n) {
        for (int i = 0; i < n; i++) {
            double v = x.get(i);
            double t = tanh(x, K * (v + C * v * v * v));
            double grad = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * K * (1 + 3 * C * v * v);
            dx.set(i, dout.get(i) * grad);
        }
    }

    /** tanh through the tensor's own-precision exp: exact in float64, float-accurate and fast in float32. */
    private static double tanh(Tensor precision, double u) {
        if (u > 20) return 1;
        if (u < -20) return -1;
        return 1 - 2 / (precision.exp(2 * u) + 1);
    }
}
