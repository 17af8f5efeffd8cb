package org.sparkrlhf.cuda;

import java.util.ArrayList;
import java.util.List;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.sampling.SamplingConfig;

/**
 * Incremental decoding of a {@link CudaGpt} with a KV cache on the GPU, the device twin of
 * {@link org.sparkrlhf.model.Decoder}: each call appends s columns and returns their logits; prefill
 * is one call with the left-padded prompts, decoding one call per token. Sampling runs on the device
 * too ({@code sample_tokens}: temperature, top-k, top-p, a generator keyed by each sequence's seed
 * and step), so a step copies back only the B chosen tokens.
 */
public final class CudaDecoder implements AutoCloseable {
    private final CudaGpt model;
    private final GptConfig c;
    private final CudaDevice dev;
    private final CudaKernels k;
    private final int bsz, cap;
    private final DeviceMemory[] keys, values;
    private final DeviceMemory x, ln, qkv, attY, tmp, fch, fchGelu, mean, rstd, logits, tokens, start, seeds, chosen, logProb, active;
    private final List<DeviceMemory> all = new ArrayList<>();
    private int length;
    private int[] rowStart;

    /** A cache for {@code batchSize} sequences of up to {@code capacity} columns (prompt plus new tokens). */
    public CudaDecoder(CudaGpt model, int batchSize, int capacity) {
        this.model = model;
        this.c = model.config();
        this.dev = model.device();
        this.k = model.kernels();
        this.bsz = batchSize;
        this.cap = capacity;
        int d = c.dModel(), rows = batchSize * capacity;
        long cacheCells = (long) batchSize * capacity * d;
        keys = new DeviceMemory[c.nLayers()];
        values = new DeviceMemory[c.nLayers()];
        for (int l = 0; l < c.nLayers(); l++) {
            keys[l] = alloc(cacheCells, "KV cache keys");
            values[l] = alloc(cacheCells, "KV cache values");
        }
        x = alloc((long) rows * d, "decoder residual");
        ln = alloc((long) rows * d, "decoder LayerNorm");
        qkv = alloc(3L * rows * d, "decoder qkv");
        attY = alloc((long) rows * d, "decoder attention");
        tmp = alloc((long) rows * d, "decoder projection");
        fch = alloc(4L * rows * d, "decoder MLP");
        fchGelu = alloc(4L * rows * d, "decoder GELU");
        mean = alloc(rows, "decoder means");
        rstd = alloc(rows, "decoder scales");
        logits = alloc((long) batchSize * c.vocabSize(), "decoder logits");
        tokens = alloc(rows, "decoder tokens");
        start = alloc(batchSize, "row starts");
        seeds = alloc(2L * batchSize, "seeds");
        chosen = alloc(batchSize, "sampled tokens");
        logProb = alloc(batchSize, "sampled log-probs");
        active = alloc(batchSize, "active rows");
        if ((long) (capacity + c.headDim()) * 4 > 48 * 1024)
            k.allowSharedMemory("decode_attention", (capacity + c.headDim()) * 4);
    }

    private DeviceMemory alloc(long n, String what) {
        DeviceMemory m = dev.allocate(n, what);
        all.add(m);
        return m;
    }

    /** Empties the cache for sequences whose real tokens start at column {@code start[b]}. */
    public void reset(int[] rowStarts) {
        if (rowStarts.length != bsz) throw new IllegalArgumentException("need " + bsz + " row starts, got " + rowStarts.length);
        rowStart = rowStarts.clone();
        dev.upload(start, rowStart);
        length = 0;
    }

    public int length() {
        return length;
    }

    /**
     * Appends tokens [B, s] (row-major, uploaded from the host) and returns the logits of every
     * appended column [B*s, V], or only of the last column [B, V] when {@code lastOnly}.
     */
    public DeviceMemory extend(int[] newTokens, int s, boolean lastOnly) {
        if (newTokens.length != bsz * s) throw new IllegalArgumentException("expected " + bsz * s + " tokens (B*s), got " + newTokens.length);
        for (int tok : newTokens)
            if (tok < 0 || tok >= c.vocabSize()) throw new IllegalArgumentException("token id " + tok + " outside the vocabulary [0, " + c.vocabSize() + ")");
        dev.upload(tokens, newTokens);
        return extendFromDevice(tokens, s, lastOnly);
    }

    private DeviceMemory allLogits;

    private DeviceMemory extendFromDevice(DeviceMemory tok, int s, boolean lastOnly) {
        int t0 = length, total = t0 + s, d = c.dModel(), n = bsz * s, heads = c.nHeads(), hd = c.headDim();
        if (rowStart == null) throw new IllegalStateException("reset the decoder before extending it");
        if (total > cap) throw new IllegalArgumentException("KV cache full: " + total + " columns > capacity " + cap);
        for (int b = 0; b < bsz; b++)
            if (total - rowStart[b] > c.contextLength())
                throw new IllegalArgumentException("row " + b + " would reach " + (total - rowStart[b]) + " tokens, beyond contextLength " + c.contextLength());
        k.launch1d("embedding_forward_cols", (long) n * d, x, tok, start, model.p("wte.weight"), model.p("wpe.weight"), bsz, s, t0, d);
        for (int l = 0; l < c.nLayers(); l++) {
            String h = "h." + l + ".";
            model.layerNorm(ln, mean, rstd, x, h + "ln_1", n);
            model.linear(qkv, ln, h + "attn.c_attn", n, d, 3 * d);
            k.launch1d("kv_append", (long) n * d, keys[l], values[l], qkv, bsz, s, heads, hd, cap, t0);
            k.launch("decode_attention", bsz * heads, s, 128, 1, (cap + hd) * 4, attY, qkv, keys[l], values[l], start, s, heads, hd, cap, t0,
                    (float) (1.0 / Math.sqrt(hd)));
            model.linear(tmp, attY, h + "attn.c_proj", n, d, d);
            k.launch1d("add_inplace", (long) n * d, x, tmp, (long) n * d);
            model.layerNorm(ln, mean, rstd, x, h + "ln_2", n);
            model.linear(fch, ln, h + "mlp.c_fc", n, d, 4 * d);
            k.launch1d("gelu_forward", 4L * n * d, fchGelu, fch, 4L * n * d);
            model.linear(tmp, fchGelu, h + "mlp.c_proj", n, 4 * d, d);
            k.launch1d("add_inplace", (long) n * d, x, tmp, (long) n * d);
        }
        model.layerNorm(ln, mean, rstd, x, "ln_f", n);
        length = total;
        Cublas blas = model.blas();
        if (lastOnly) { // row b's last column is row b*s + s-1: a strided view of ln
            blas.gemm(false, true, bsz, c.vocabSize(), d, 1f, ln, (long) (s - 1) * d, s * d, model.lmHead(), 0, d, 0f, logits, 0, c.vocabSize());
            return logits;
        }
        if (allLogits == null || allLogits.length() < (long) n * c.vocabSize()) {
            if (allLogits != null) {
                all.remove(allLogits);
                allLogits.close();
            }
            allLogits = alloc((long) n * c.vocabSize(), "decoder logits (all columns)");
        }
        blas.gemm(false, true, n, c.vocabSize(), d, 1f, ln, model.lmHead(), 0f, allLogits);
        return allLogits;
    }

    /** What {@link #generate} produced: tokens and their log-probabilities under the sampling distribution. */
    public record Generated(int[][] tokens, float[][] logProbs) {}

    /**
     * Samples {@code cfg.maxNewTokens()} tokens after left-padded prompts [B, promptLength] whose real
     * tokens start at {@code starts[b]}; sequence b draws from its own seed. Rows stop at a stop token.
     */
    public Generated generate(int[] prompts, int promptLength, int[] starts, SamplingConfig cfg, long[] rowSeeds) {
        if (rowSeeds.length != bsz) throw new IllegalArgumentException("need one seed per row (" + bsz + "), got " + rowSeeds.length);
        reset(starts);
        dev.upload(seeds, rowSeeds);
        int[] on = new int[bsz];
        java.util.Arrays.fill(on, 1);
        dev.upload(active, on);
        int steps = cfg.maxNewTokens();
        int[][] out = new int[bsz][steps];
        float[][] lp = new float[bsz][steps];
        int[] tok = new int[bsz];
        float[] logp = new float[bsz];
        boolean[] stopped = new boolean[bsz];
        DeviceMemory step = extend(prompts, promptLength, true);
        for (int i = 0; i < steps; i++) {
            k.launch("sample_tokens", bsz, 1, 1024, 1, 0, chosen, logProb, step, c.vocabSize(), (float) cfg.temperature(), cfg.topK(),
                    (float) cfg.topP(), seeds, i, active);
            dev.downloadInts(tok, chosen);
            dev.download(logp, 0, logProb, 0, bsz);
            boolean anyStop = false;
            for (int b = 0; b < bsz; b++) {
                out[b][i] = stopped[b] ? -1 : tok[b];
                lp[b][i] = stopped[b] ? 0f : logp[b];
                if (!stopped[b]) for (int st : cfg.stopTokens()) if (tok[b] == st) { stopped[b] = true; anyStop = true; }
            }
            if (anyStop) {
                for (int b = 0; b < bsz; b++) on[b] = stopped[b] ? 0 : 1;
                dev.upload(active, on);
            }
            if (i + 1 == steps) break;
            boolean all = true;
            for (boolean s : stopped) all &= s;
            if (all) break;
            step = extendFromDevice(chosen, 1, true); // finished rows feed token 0; their outputs are ignored
        }
        return new Generated(out, lp);
    }

    @Override
    public void close() {
        for (DeviceMemory m : all) m.close();
        all.clear();
    }
}
