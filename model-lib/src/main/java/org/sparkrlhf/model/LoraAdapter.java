package org.sparkrlhf.model;

import java.util.SplittableRandom;
import org.sparkrlhf.tensor.Blas;
import org.sparkrlhf.tensor.Tensor;

/**
 * One projection's LoRA path, forward and backward: out += s D(x) A B with D the dropout (mask/(1-p),
 * drawn per forward pass while training; identity otherwise) and s = alpha / rank. The forward pass
 * keeps u = D(x) A and the mask for the backward pass.
 */
final class LoraAdapter {
    private LoraAdapter() {}

    /** Saved per projection: u [n, r], and D's multipliers [n, in] when dropout is on (else null). */
    static final class Saved {
        final Tensor u, mask;

        Saved(Tensor u, Tensor mask) {
            this.u = u;
            this.mask = mask;
        }
    }

    /** out[n, oc] += s D(x) A B; {@code rng} null means no dropout (evaluation, sampling). */
    static void forward(Tensor out, Tensor x, Tensor a, Tensor b, double s, double dropout, SplittableRandom rng, Saved saved,
                        int n, int in, int r, int oc, Tensor scratch) {
        Tensor xd = x;
        if (rng != null && dropout > 0) {
            double keep = 1.0 / (1 - dropout);
            for (int i = 0; i < n * in; i++) saved.mask.set(i, rng.nextDouble() < dropout ? 0.0 : keep);
            for (int i = 0; i < n * in; i++) scratch.set(i, x.get(i) * saved.mask.get(i));
            xd = scratch;
        } else if (saved.mask != null) {
            saved.mask.fill(1.0);
        }
        Blas.gemm(false, false, n, r, in, 1.0, xd, a, 0.0, saved.u);
        Blas.gemm(false, false, n, oc, r, s, saved.u, b, 1.0, out);
    }

    /**
     * Adds dA, dB (when not null) and dx (always: it accumulates onto the frozen path's dx) for the
     * gradient {@code dout} of this projection's output.
     */
    static void backward(Tensor dx, Tensor dA, Tensor dB, Tensor dout, Tensor x, Tensor a, Tensor b, double s, Saved saved,
                         int n, int in, int r, int oc, Tensor du, Tensor scratch) {
        if (dB != null) Blas.gemm(true, false, r, oc, n, s, saved.u, dout, 1.0, dB);  // dB += s u^T dout
        Blas.gemm(false, true, n, r, oc, s, dout, b, 0.0, du);                         // du = s dout B^T
        boolean masked = saved.mask != null;
        if (dA != null) {
            Tensor xd = x;
            if (masked) {
                for (int i = 0; i < n * in; i++) scratch.set(i, x.get(i) * saved.mask.get(i));
                xd = scratch;
            }
            Blas.gemm(true, false, in, r, n, 1.0, xd, du, 1.0, dA);                     // dA += D(x)^T du
        }
        if (!masked) {
            Blas.gemm(false, true, n, in, r, 1.0, du, a, 1.0, dx);                      // dx += du A^T
            return;
        }
        Blas.gemm(false, true, n, in, r, 1.0, du, a, 0.0, scratch);
        for (int i = 0; i < n * in; i++) dx.add(i, scratch.get(i) * saved.mask.get(i)); // through the dropout
    }
}
