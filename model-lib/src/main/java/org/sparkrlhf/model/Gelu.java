package org.sparkrlhf.model;

import org.sparkrlhf.tensor.FastMath;
import org.sparkrlhf.tensor.FloatTensor;
import org.sparkrlhf.tensor.Parallel;
import org.sparkrlhf.tensor.Scratch;
import org.sparkrlhf.tensor.Tensor;

/**
 * GELU, tanh form as in GPT-2: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). float32 runs a
 * vectorizable rational tanh over heap chunks; float64 is the exact reference.
 */
final class Gelu {
    private Gelu() {}

    private static final double K = Math.sqrt(2.0 / Math.PI);
    private static final double C = 0.044715;
    private static final float KF = (float) K, CF = (float) C;
    private static final int CHUNK = 4096;

    static void forward(Tensor out, Tensor x, int n) {
        if (out instanceof FloatTensor && x instanceof FloatTensor) {
            Parallel.forRange((n + CHUNK - 1) / CHUNK, 4, (part, lo, hi) -> {
                float[] buf = Scratch.get(0, CHUNK);
                for (int o = lo * CHUNK; o < Math.min(n, hi * CHUNK); o += CHUNK) {
                    int len = Math.min(CHUNK, n - o);
                    x.read(o, buf, 0, len);
                    for (int i = 0; i < len; i++) {
                        float v = buf[i];
                        buf[i] = 0.5f * v * (1f + FastMath.tanhFloat(KF * (v + CF * v * v * v)));
                    }
                    out.write(o, buf, 0, len);
                }
            });
            return;
        }
        for (int i = 0; i < n; i++) {
            double v = x.get(i);
            out.set(i, 0.5 * v * (1 + Math.tanh(K * (v + C * v * v * v))));
        }
    }

    /** dx = dout * gelu'(x), overwriting dx. */
    static void backward(Tensor dx, Tensor dout, Tensor x, int n) {
        if (dx instanceof FloatTensor && dout instanceof FloatTensor && x instanceof FloatTensor) {
            Parallel.forRange((n + CHUNK - 1) / CHUNK, 4, (part, lo, hi) -> {
                float[] xs = Scratch.get(0, CHUNK), ds = Scratch.get(1, CHUNK);
                for (int o = lo * CHUNK; o < Math.min(n, hi * CHUNK); o += CHUNK) {
                    int len = Math.min(CHUNK, n - o);
                    x.read(o, xs, 0, len);
                    dout.read(o, ds, 0, len);
                    for (int i = 0; i < len; i++) {
                        float v = xs[i];
                        float t = FastMath.tanhFloat(KF * (v + CF * v * v * v));
                        ds[i] *= 0.5f * (1f + t) + 0.5f * v * (1f - t * t) * KF * (1f + 3f * CF * v * v);
                    }
                    dx.write(o, ds, 0, len);
                }
            });
            return;
        }
        for (int i = 0; i < n; i++) {
            double v = x.get(i);
            double t = Math.tanh(K * (v + C * v * v * v));
            double grad = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * K * (1 + 3 * C * v * v);
            dx.set(i, dout.get(i) * grad);
        }
    }
}
