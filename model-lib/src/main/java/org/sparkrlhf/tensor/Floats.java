package org.sparkrlhf.tensor;

/** Small loops over float arrays that the kernels share. */
public final class Floats {
    private Floats() {}

    /** Sum of a[0..n) with eight independent accumulators, so the adds pipeline instead of chaining. */
    public static float sum(float[] a, int n) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            s0 += a[i]; s1 += a[i + 1]; s2 += a[i + 2]; s3 += a[i + 3];
            s4 += a[i + 4]; s5 += a[i + 5]; s6 += a[i + 6]; s7 += a[i + 7];
        }
        float s = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
        for (; i < n; i++) s += a[i];
        return s;
    }

    /** Sum of a[i] * b[i] over [0, n), pipelined as {@link #sum}. */
    public static float dot(float[] a, float[] b, int n) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            s0 += a[i] * b[i]; s1 += a[i + 1] * b[i + 1]; s2 += a[i + 2] * b[i + 2]; s3 += a[i + 3] * b[i + 3];
            s4 += a[i + 4] * b[i + 4]; s5 += a[i + 5] * b[i + 5]; s6 += a[i + 6] * b[i + 6]; s7 += a[i + 7] * b[i + 7];
        }
        float s = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
        for (; i < n; i++) s += a[i] * b[i];
        return s;
    }

    /** Maximum of a[lo..hi). */
    public static float max(float[] a, int lo, int hi) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = lo; i < hi; i++) m = Math.max(m, a[i]);
        return m;
    }

    /** Adds per-part accumulators acc[p][0..c) into tensor t[0..c). */
    public static void addParts(Tensor t, float[][] acc, int c) {
        float[] total = acc[0];
        for (int p = 1; p < acc.length; p++)
            for (int i = 0; i < c; i++) total[i] += acc[p][i];
        for (int i = 0; i < c; i++) t.add(i, total[i]);
    }
}
