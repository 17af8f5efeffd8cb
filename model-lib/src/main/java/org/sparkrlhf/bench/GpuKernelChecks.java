package org.sparkrlhf.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.sparkrlhf.cuda.CudaDevice;
import org.sparkrlhf.cuda.CudaKernels;
import org.sparkrlhf.cuda.DeviceMemory;
import org.sparkrlhf.cuda.EmbeddingGroups;

/**
 * Each kernel of {@code gpt_kernels.cu} against a float64 reference written out here, on fresh
 * random inputs of awkward sizes (rows that are not multiples of a warp, padding, zero weights).
 * The error of a tensor is max |gpu - ref| / max |ref|; outputs are poisoned with NaN first, so an
 * element a kernel fails to write shows as NaN and fails.
 */
final class GpuKernelChecks {
    /** float32 arithmetic against float64: reductions over at most a few thousand terms. */
    static final double TOLERANCE = 1e-4;

    private final CudaDevice dev;
    private final CudaKernels k;
    private final SplittableRandom rng = new SplittableRandom(20261130);
    private final List<DeviceMemory> owned = new ArrayList<>();
    final List<Result> results = new ArrayList<>();

    /** One tensor's error against its reference, and the tolerance it must meet. */
    record Result(String name, double error, double tolerance) {
        boolean pass() {
            return error <= tolerance; // NaN fails
        }
    }

    GpuKernelChecks(CudaDevice dev, CudaKernels k) {
        this.dev = dev;
        this.k = k;
    }

    List<Result> runAll() {
        try {
            gelu();
            layerNorm();
            columnSums();
            softmax();
            crossEntropy();
            adamw();
            embedding();
            sumOfSquares();
            permutes();
            biasKernels();
            sampling();
        } finally {
            for (DeviceMemory m : owned) m.close();
        }
        return results;
    }

    // ---------------------------------------------------------------- helpers

    private float[] randn(int n, double std) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (gauss() * std);
        return x;
    }

    private double gauss() {
        double u = rng.nextDouble(1e-12, 1.0), v = rng.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    private DeviceMemory put(float[] x) {
        DeviceMemory m = dev.allocate(x.length, "check input");
        owned.add(m);
        dev.upload(m, 0, x, 0, x.length);
        return m;
    }

    private DeviceMemory put(int[] x) {
        DeviceMemory m = dev.allocate(x.length, "check input");
        owned.add(m);
        dev.upload(m, x);
        return m;
    }

    private DeviceMemory poisoned(int n) {
        float[] nan = new float[n];
        java.util.Arrays.fill(nan, Float.NaN);
        return put(nan);
    }

    private float[] get(DeviceMemory m, int n) {
        float[] out = new float[n];
        dev.download(out, 0, m, 0, n);
        return out;
    }

    static double relErr(float[] got, double[] ref) {
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = Math.abs(got[i] - ref[i]);
            if (Double.isNaN(d)) return Double.NaN;
            maxDiff = Math.max(maxDiff, d);
            maxRef = Math.max(maxRef, Math.abs(ref[i]));
        }
        return maxRef == 0 ? maxDiff : maxDiff / maxRef;
    }

    private void record(String name, float[] got, double[] ref) {
        results.add(new Result(name, relErr(got, ref), TOLERANCE));
    }

    // ---------------------------------------------------------------- kernels

    private void gelu() {
        int n = 100_003;
        float[] x = randn(n, 2), dout = randn(n, 1);
        DeviceMemory dx = put(x), dd = put(dout), out = poisoned(n), gx = poisoned(n);
        k.launch1d("gelu_forward", n, out, dx, (long) n);
        k.launch1d("gelu_backward", n, gx, dd, dx, (long) n);
        double kk = Math.sqrt(2 / Math.PI), c = 0.044715;
        double[] ref = new double[n], refG = new double[n];
        for (int i = 0; i < n; i++) {
            double v = x[i], t = Math.tanh(kk * (v + c * v * v * v));
            ref[i] = 0.5 * v * (1 + t);
            refG[i] = dout[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * kk * (1 + 3 * c * v * v));
        }
        record("gelu_forward", get(out, n), ref);
        record("gelu_backward", get(gx, n), refG);
    }

    private void layerNorm() {
        int n = 257, c = 96, chunks = 64;
        float[] x = randn(n * c, 1.5), w = randn(c, 0.5), b = randn(c, 0.5), dout = randn(n * c, 1), dx0 = randn(n * c, 1), pg0 = randn(2 * c, 1);
        for (int i = 0; i < c; i++) w[i] += 1;
        DeviceMemory X = put(x), W = put(w), B = put(b), out = poisoned(n * c), mean = poisoned(n), rstd = poisoned(n);
        k.launch("layernorm_forward", (n + 7) / 8, 1, 256, 1, 0, out, mean, rstd, X, W, B, n, c, 1e-5f);
        DeviceMemory D = put(dout), DX = put(dx0), partial = poisoned(chunks * 2 * c), PG = put(pg0);
        k.launch("layernorm_backward_dx", (n + 7) / 8, 1, 256, 1, 0, DX, D, X, W, mean, rstd, n, c);
        k.launch("layernorm_param_partial", (c + 31) / 32, chunks, 32, 8, 0, partial, D, X, mean, rstd, n, c);
        k.launch1d("sum_partials", 2 * c, PG, partial, chunks, 2 * c);
        double[] ref = new double[n * c], refDx = new double[n * c], refPg = new double[2 * c];
        for (int i = 0; i < 2 * c; i++) refPg[i] = pg0[i];
        for (int r = 0; r < n; r++) {
            double m = 0, v = 0;
            for (int i = 0; i < c; i++) m += x[r * c + i];
            m /= c;
            for (int i = 0; i < c; i++) v += (x[r * c + i] - m) * (x[r * c + i] - m);
            double s = 1 / Math.sqrt(v / c + 1e-5), mg = 0, mgx = 0;
            for (int i = 0; i < c; i++) {
                double xh = (x[r * c + i] - m) * s, g = dout[r * c + i] * (double) w[i];
                ref[r * c + i] = xh * w[i] + b[i];
                mg += g;
                mgx += g * xh;
                refPg[i] += dout[r * c + i] * xh;
                refPg[c + i] += dout[r * c + i];
            }
            mg /= c;
            mgx /= c;
            for (int i = 0; i < c; i++) {
                double xh = (x[r * c + i] - m) * s;
                refDx[r * c + i] = dx0[r * c + i] + (dout[r * c + i] * (double) w[i] - mg - xh * mgx) * s;
            }
        }
        record("layernorm_forward", get(out, n * c), ref);
        record("layernorm_backward_dx", get(DX, n * c), refDx);
        record("layernorm_param_partial+sum_partials", get(PG, 2 * c), refPg);
    }

    private void columnSums() {
        int n = 1000, c = 300, chunks = 64;
        float[] x = randn(n * c, 1), base = randn(c, 1);
        DeviceMemory X = put(x), partial = poisoned(chunks * c), out = put(base);
        k.launch("column_partial", (c + 31) / 32, chunks, 32, 8, 0, partial, X, n, c);
        k.launch1d("sum_partials", c, out, partial, chunks, c);
        double[] ref = new double[c];
        for (int j = 0; j < c; j++) {
            ref[j] = base[j];
            for (int r = 0; r < n; r++) ref[j] += x[r * c + j];
        }
        record("column_partial+sum_partials", get(out, c), ref);
    }

    /** Query chunks as the model runs them: a whole block, one from the middle (with left padding), and one wider than the register path. */
    private void softmax() {
        softmaxChunk("causal_softmax(full)", 2, 3, 37, 0, 37, new int[] {0, 5});
        softmaxChunk("causal_softmax(chunk)", 2, 3, 16, 20, 36, new int[] {0, 25});
        softmaxChunk("causal_softmax(wide)", 1, 2, 3, 1200, 1203, new int[] {3});
    }

    private void softmaxChunk(String name, int bsz, int h, int rows, int row0, int width, int[] start) {
        int total = bsz * h * rows;
        float[] s = randn(total * width, 2), dp = randn(total * width, 1);
        DeviceMemory S = put(s), ST = put(start), DP = put(dp);
        k.launch("causal_softmax_forward", (total + 7) / 8, 1, 256, 1, 0, S, ST, h, rows, row0, width, (long) total);
        k.launch("causal_softmax_backward", (total + 7) / 8, 1, 256, 1, 0, DP, S, rows, row0, width, (long) total);
        double[] p = new double[total * width], ds = new double[total * width];
        for (int r = 0; r < total; r++) {
            int i = row0 + r % rows, s0 = start[r / rows / h], o = r * width;
            if (i < s0) p[o + i] = 1;
            else {
                double m = Double.NEGATIVE_INFINITY, z = 0;
                for (int j = s0; j <= i; j++) m = Math.max(m, s[o + j]);
                for (int j = s0; j <= i; j++) z += Math.exp(s[o + j] - m);
                for (int j = s0; j <= i; j++) p[o + j] = Math.exp(s[o + j] - m) / z;
            }
            double dot = 0;
            for (int j = 0; j < width; j++) dot += dp[o + j] * p[o + j];
            for (int j = 0; j < width; j++) ds[o + j] = p[o + j] * (dp[o + j] - dot);
        }
        record(name + "_forward", get(S, total * width), p);
        record(name + "_backward", get(DP, total * width), ds);
    }

    private void crossEntropy() {
        int n = 33, v = 1000, ld = 1024; // padded rows, as the model lays out its logits
        float[] logits = randn(n * ld, 3), w = new float[n];
        int[] tgt = new int[n];
        for (int r = 0; r < n; r++) {
            tgt[r] = rng.nextInt(v);
            w[r] = r % 5 == 0 ? 0f : 1f;
        }
        double invNorm = 1.0 / 7;
        DeviceMemory L = put(logits), loss = poisoned(n), T = put(tgt), W = put(w), total = poisoned(1);
        k.launch("cross_entropy", n, 1, 512, 1, 0, L, loss, T, W, v, (long) ld, (float) invNorm, 1);
        k.launch("sum_final", 1, 1, 1024, 1, 0, total, loss, n);
        double[] grad = new double[n * ld];
        double refLoss = 0;
        for (int r = 0; r < n; r++) {
            for (int j = v; j < ld; j++) grad[r * ld + j] = logits[r * ld + j]; // padding untouched
            if (w[r] == 0) continue;
            int o = r * ld;
            double m = Double.NEGATIVE_INFINITY, z = 0;
            for (int j = 0; j < v; j++) m = Math.max(m, logits[o + j]);
            for (int j = 0; j < v; j++) z += Math.exp(logits[o + j] - m);
            double lse = m + Math.log(z);
            refLoss += w[r] * invNorm * (lse - logits[o + tgt[r]]);
            for (int j = 0; j < v; j++) grad[o + j] = w[r] * invNorm * (Math.exp(logits[o + j] - lse) - (j == tgt[r] ? 1 : 0));
        }
        record("cross_entropy_grad", get(L, n * ld), grad);
        record("cross_entropy_loss+sum_final", get(total, 1), new double[] {refLoss});
    }

    private void adamw() {
        int n = 10_007;
        float[] p = randn(n, 1), g = randn(n, 1), m = randn(n, 0.1), v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) Math.abs(gauss() * 0.01);
        float clip = 0.5f, lr = 1e-3f, b1 = 0.9f, b2 = 0.95f, c1 = 1 - 0.9f * 0.9f * 0.9f, c2 = 1 - 0.95f * 0.95f * 0.95f, eps = 1e-8f, wd = 1e-4f;
        DeviceMemory P = put(p), G = put(g), M = put(m), V = put(v);
        k.launch1d("adamw", n, P, G, M, V, (long) n, clip, lr, b1, b2, c1, c2, eps, wd);
        double[] rp = new double[n], rm = new double[n], rv = new double[n];
        for (int i = 0; i < n; i++) {
            double gi = g[i] * (double) clip;
            rm[i] = b1 * (double) m[i] + (1 - (double) b1) * gi;
            rv[i] = b2 * (double) v[i] + (1 - (double) b2) * gi * gi;
            rp[i] = p[i] - lr * (rm[i] / c1) / (Math.sqrt(rv[i] / c2) + eps) - wd * (double) p[i];
        }
        record("adamw_params", get(P, n), rp);
        record("adamw_first_moment", get(M, n), rm);
        record("adamw_second_moment", get(V, n), rv);
    }

    private void embedding() {
        int n = 50, d = 40, vocab = 13, ctx = 20;
        int[] tok = new int[n], pos = new int[n];
        for (int i = 0; i < n; i++) {
            tok[i] = rng.nextInt(vocab);
            pos[i] = rng.nextInt(ctx);
        }
        float[] wte = randn(vocab * d, 1), wpe = randn(ctx * d, 1), dout = randn(n * d, 1), table0 = randn(vocab * d, 1);
        DeviceMemory T = put(tok), P = put(pos), WTE = put(wte), WPE = put(wpe), out = poisoned(n * d);
        k.launch1d("embedding_forward", (long) n * d, out, T, P, WTE, WPE, n, d);
        double[] ref = new double[n * d], refT = new double[vocab * d];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) ref[i * d + j] = wte[tok[i] * d + j] + (double) wpe[pos[i] * d + j];
        record("embedding_forward", get(out, n * d), ref);
        DeviceMemory table = put(table0), D = put(dout), ids = poisoned(n), offs = poisoned(n + 1), cells = poisoned(n);
        EmbeddingGroups.of(tok).scatter(dev, k, table, D, d, ids, offs, cells);
        for (int i = 0; i < vocab * d; i++) refT[i] = table0[i];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) refT[tok[i] * d + j] += dout[i * d + j];
        record("embedding_backward", get(table, vocab * d), refT);
    }

    private void sumOfSquares() {
        int n = 1_000_003, blocks = 1024;
        float[] x = randn(n, 1);
        DeviceMemory X = put(x), partial = poisoned(blocks), out = poisoned(1);
        k.launch("sum_partial", blocks, 1, 256, 1, 0, partial, X, (long) n, 1);
        k.launch("sum_final", 1, 1, 1024, 1, 0, out, partial, blocks);
        double s = 0;
        for (float v : x) s += (double) v * v;
        record("sum_partial+sum_final", get(out, 1), new double[] {s});
    }

    private void permutes() {
        int bsz = 2, t = 5, h = 3, hd = 4, d = h * hd, n = bsz * t;
        float[] qkv = randn(n * 3 * d, 1);
        DeviceMemory Q = poisoned(n * d), K = poisoned(n * d), V = poisoned(n * d), X = put(qkv), back = poisoned(n * 3 * d), rows = poisoned(n * d);
        k.launch1d("permute_qkv", n * d, Q, K, V, X, null, bsz, t, h, hd);
        k.launch1d("unpermute_qkv", n * d, back, Q, K, V, bsz, t, h, hd);
        double[] ref = new double[n * 3 * d], refQ = new double[n * d];
        for (int i = 0; i < ref.length; i++) ref[i] = qkv[i];
        for (int b = 0; b < bsz; b++)
            for (int hh = 0; hh < h; hh++)
                for (int i = 0; i < t; i++)
                    for (int j = 0; j < hd; j++) refQ[((b * h + hh) * t + i) * hd + j] = qkv[(b * t + i) * 3 * d + hh * hd + j];
        record("permute_qkv", get(Q, n * d), refQ);
        record("unpermute_qkv(permute_qkv)", get(back, n * 3 * d), ref);
        k.launch1d("permute_heads", n * d, rows, Q, bsz, t, h, hd, 1);
        double[] refRows = new double[n * d];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) refRows[i * d + j] = qkv[i * 3 * d + j];
        record("permute_heads", get(rows, n * d), refRows);
        float[] bias = randn(3 * d, 1);
        k.launch1d("permute_qkv", n * d, Q, K, V, X, put(bias), bsz, t, h, hd);
        for (int b = 0; b < bsz; b++)
            for (int hh = 0; hh < h; hh++)
                for (int i = 0; i < t; i++)
                    for (int j = 0; j < hd; j++) refQ[((b * h + hh) * t + i) * hd + j] = qkv[(b * t + i) * 3 * d + 2 * d + hh * hd + j] + (double) bias[2 * d + hh * hd + j];
        record("permute_qkv(bias)", get(V, n * d), refQ);
    }

    private void biasKernels() {
        int n = 77, c = 130;
        float[] out = randn(n * c, 1), b = randn(c, 1), res = randn(n * c, 1);
        DeviceMemory O = put(out), B = put(b), R = put(res), pre = put(out), g = poisoned(n * c);
        k.launch1d("add_bias_residual", (long) n * c, O, B, R, n, c);
        k.launch1d("bias_gelu_forward", (long) n * c, g, pre, B, n, c);
        double kk = Math.sqrt(2 / Math.PI), cc = 0.044715;
        double[] ref = new double[n * c], refPre = new double[n * c], refG = new double[n * c];
        for (int i = 0; i < n * c; i++) {
            ref[i] = out[i] + (double) b[i % c] + res[i];
            double v = refPre[i] = out[i] + (double) b[i % c];
            refG[i] = 0.5 * v * (1 + Math.tanh(kk * (v + cc * v * v * v)));
        }
        record("add_bias_residual", get(O, n * c), ref);
        record("bias_gelu_forward(pre)", get(pre, n * c), refPre);
        record("bias_gelu_forward(out)", get(g, n * c), refG);
    }

    /**
     * Sampling: 16384 draws from one row of 64 logits (temperature 0.8, top-k 10, top-p 0.9) against
     * the truncated distribution computed in float64: the largest frequency error (tolerance 0.02,
     * about 4 standard errors), no token outside the kept set, log-probs as the CPU sampler gives them,
     * and greedy = argmax.
     */
    private void sampling() {
        int rows = 16384, v = 64, topK = 10;
        double temp = 0.8, topP = 0.9;
        float[] row = randn(v, 1.5), logits = new float[rows * v];
        for (int r = 0; r < rows; r++) System.arraycopy(row, 0, logits, r * v, v);
        long[] seeds = new long[rows];
        for (int r = 0; r < rows; r++) seeds[r] = rng.nextLong();
        DeviceMemory L = put(logits), S = dev.allocate(2L * rows, "seeds"), tok = poisoned(rows), lp = poisoned(rows);
        owned.add(S);
        dev.upload(S, seeds);
        k.launch("sample_tokens", rows, 1, 1024, 1, 0, tok, lp, L, v, (float) temp, topK, (float) topP, S, 7, null);
        int[] chosen = new int[rows];
        dev.downloadInts(chosen, tok);
        float[] logp = get(lp, rows);
        // reference: sort by probability, keep top-k, then the prefix reaching top-p of the whole mass
        double[] p = new double[v];
        double m = Double.NEGATIVE_INFINITY, z = 0;
        for (int j = 0; j < v; j++) m = Math.max(m, row[j] / temp);
        for (int j = 0; j < v; j++) z += p[j] = Math.exp(row[j] / temp - m);
        Integer[] order = new Integer[v];
        for (int j = 0; j < v; j++) order[j] = j;
        java.util.Arrays.sort(order, (a, b) -> Double.compare(p[b], p[a]));
        int keep = topK;
        double cum = 0;
        for (int i = 0; i < keep; i++) {
            cum += p[order[i]] / z;
            if (cum >= topP) { keep = i + 1; break; }
        }
        double kept = 0;
        boolean[] in = new boolean[v];
        for (int i = 0; i < keep; i++) { in[order[i]] = true; kept += p[order[i]]; }
        int[] counts = new int[v];
        int outside = 0;
        double lpErr = 0;
        for (int r = 0; r < rows; r++) {
            int c = chosen[r];
            if (c < 0 || c >= v || !in[c]) { outside++; continue; }
            counts[c]++;
            lpErr = Math.max(lpErr, Math.abs(logp[r] - (row[c] / temp - m - Math.log(z))));
        }
        double freqErr = 0;
        for (int j = 0; j < v; j++) freqErr = Math.max(freqErr, Math.abs(counts[j] / (double) rows - (in[j] ? p[j] / kept : 0)));
        results.add(new Result("sample_tokens_frequency_abs", outside > 0 ? Double.NaN : freqErr, 0.02));
        results.add(new Result("sample_tokens_logprob_abs", lpErr, TOLERANCE));
        k.launch("sample_tokens", rows, 1, 1024, 1, 0, tok, lp, L, v, 0f, 0, 1f, S, 0, null);
        dev.downloadInts(chosen, tok);
        int argmax = order[0], wrong = 0;
        for (int r = 0; r < rows; r++) if (chosen[r] != argmax) wrong++;
        results.add(new Result("sample_tokens_greedy_mismatches", wrong, 0));
    }
}
