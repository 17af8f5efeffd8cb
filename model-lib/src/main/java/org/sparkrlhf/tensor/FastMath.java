package org.sparkrlhf.tensor;

/**
 * Float-accurate exp and tanh for float32 kernels. Math.exp costs about 14 ns here and Math.tanh
 * about 40 ns: too slow for attention softmax and GELU over millions of elements per step.
 */
public final class FastMath {
    private FastMath() {}

    private static final float LOG2E = 1.4426950408889634f;
    // ln 2 split in two (Cody-Waite) so that k * ln2 is exact enough for |k| up to 127
    private static final float LN2_HI = 0.693145751953125f, LN2_LO = 1.428606765330187e-06f;

    /** exp(x) to a few float ulps for |x| < 87; 0 below -87, +inf above 88. */
    public static float expFloat(float x) {
        if (x < -87f) return 0f;
        if (x > 88f) return Float.POSITIVE_INFINITY;
        float k = (float) Math.floor(x * LOG2E + 0.5f);
        float r = x - k * LN2_HI - k * LN2_LO; // |r| <= ln2/2
        // Taylor to degree 7 on |r| <= 0.347: truncation error < 1e-8
        float p = 1f + r * (1f + r * (0.5f + r * (1f / 6 + r * (1f / 24 + r * (1f / 120 + r * (1f / 720 + r * (1f / 5040)))))));
        return p * Float.intBitsToFloat(((int) k + 127) << 23);
    }

    private static final float MAGIC = 12582912f; // 1.5 * 2^23: adding and subtracting it rounds to an integer
    private static final float[] POW2_NEG = new float[128];

    static {
        for (int k = 0; k < 127; k++) POW2_NEG[k] = Float.intBitsToFloat((127 - k) << 23); // 2^-k
    }

    /**
     * out[i] = exp(x[i]) for i in [lo, hi), every x[i] <= 0 (softmax after subtracting the max).
     * Two passes: a branch-free polynomial pass that the JIT vectorizes, then a table lookup for
     * 2^k; about three times faster than calling {@link #expFloat} per element.
     */
    public static void expNonPositive(float[] x, float[] out, float[] k, int lo, int hi) {
        for (int i = lo; i < hi; i++) {
            float v = Math.max(x[i], -87f);
            float kf = (v * LOG2E + MAGIC) - MAGIC;
            float r = v - kf * LN2_HI - kf * LN2_LO;
            out[i] = 1f + r * (1f + r * (0.5f + r * (1f / 6 + r * (1f / 24 + r * (1f / 120 + r * (1f / 720 + r * (1f / 5040)))))));
            k[i] = kf;
        }
        for (int i = lo; i < hi; i++) out[i] *= POW2_NEG[(int) -k[i]];
    }

    // Rational minimax fit of tanh on [-7.9, 7.9] (degree 13/6), absolute error about 3e-7 in float.
    private static final float A1 = 4.89352455891786e-03f, A3 = 6.37261928875436e-04f, A5 = 1.48572235717979e-05f,
            A7 = 5.12229709037114e-08f, A9 = -8.60467152213735e-11f, A11 = 2.00018790482477e-13f, A13 = -2.76076847742355e-16f;
    private static final float B0 = 4.89352518554385e-03f, B2 = 2.26843463243900e-03f, B4 = 1.18534705686654e-04f,
            B6 = 1.19825839466702e-06f;
    private static final float TANH_CLAMP = 7.90531110763549805f;

    /** tanh(x) to about 3e-7 absolute, branch-free so that loops over float[] vectorize. */
    public static float tanhFloat(float x) {
        x = Math.max(-TANH_CLAMP, Math.min(TANH_CLAMP, x));
        float x2 = x * x;
        float p = x * (A1 + x2 * (A3 + x2 * (A5 + x2 * (A7 + x2 * (A9 + x2 * (A11 + x2 * A13))))));
        float q = B0 + x2 * (B2 + x2 * (B4 + x2 * B6));
        return p / q;
    }
}
