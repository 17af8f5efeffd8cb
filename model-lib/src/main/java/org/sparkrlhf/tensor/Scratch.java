package org.sparkrlhf.tensor;

/**
 * Per-thread float arrays for float32 kernels. Loops over heap arrays are what the JIT vectorizes
 * (a GELU over a float[] ran 10x faster than the same loop over a direct buffer), so fast kernels
 * copy a row in, compute, and copy it out.
 */
public final class Scratch {
    private Scratch() {}

    private static final int SLOTS = 6;
    private static final ThreadLocal<float[][]> ARRAYS = ThreadLocal.withInitial(() -> new float[SLOTS][0]);

    /** Scratch array number {@code slot} (0..5) of at least {@code size} elements; contents undefined. */
    public static float[] get(int slot, int size) {
        float[][] a = ARRAYS.get();
        if (a[slot].length < size) a[slot] = new float[Math.max(size, a[slot].length * 2)];
        return a[slot];
    }
}
