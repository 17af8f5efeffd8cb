package org.sparkrlhf.cuda;

import java.util.ArrayList;
import java.util.List;
import org.sparkrlhf.model.Batch;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.Head;
import org.sparkrlhf.model.ParameterLayout;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tensor.Tensor;

/**
 * {@link org.sparkrlhf.model.Gpt} on a GPU: the same forward and backward passes, step for step,
 * with parameters, gradients and activations in device memory. Matrix products go to cuBLAS
 * (float32 or TF32), everything else to the kernels of {@code gpt_kernels.cu}; attention is the
 * llm.c layout (heads permuted out of the fused QKV, batched products, a causal softmax kernel).
 * The host sees parameters and gradients only when it asks for them.
 *
 * <p>Covers the language-model head (pre-training, SFT, the policy's log-probs); the value and
 * reward heads still run on the CPU backend. Not thread-safe, like the CPU model.
 */
public final class CudaGpt implements AutoCloseable {
    /** Row chunks of the two-pass column sums (bias and LayerNorm gradients). */
    private static final int CHUNKS = 64;
    /** Queries per attention chunk (see {@link AttentionPlan}). */
    public static final int ATTENTION_CHUNK = 128;

    private final CudaDevice dev;
    private final CudaKernels k;
    private final Cublas blas;
    private final GptConfig c;
    private final ParameterLayout layout;
    private final DeviceMemory params, grads;
    private final int attentionChunk;
    /**
     * The vocabulary padded to a multiple of 64 (GPT-2's 50257 -> 50304): the LM-head products run on a
     * zero-padded copy of the head, since cuBLAS's TF32 kernels ran them 2-3x slower at the odd size
     * (measured on an H200). The padding's logits are exactly 0 and their gradients too.
     */
    private final int logitsStride;
    private final DeviceMemory headPadded, headGradPadded;
    private Activations acts;
    private AttentionPlan plan; // for the last forward pass's length
    private int rows, cols;     // the last forward pass's batch shape
    private Batch lastBatch;
    private EmbeddingGroups positionGroups; // dense batches share their positions: grouped once
    /** Row slices of the weight-gradient products whose output has at least splitMinCells elements. */
    private int weightGradSplits = DEFAULT_WEIGHT_GRAD_SPLITS;
    private long splitMinCells = DEFAULT_SPLIT_MIN_CELLS;
    public static final int DEFAULT_WEIGHT_GRAD_SPLITS = 8;
    public static final long DEFAULT_SPLIT_MIN_CELLS = 1 << 20;
    private static final int MAX_WEIGHT_GRAD_SPLITS = 8;
    private int[] positionGroupsFor;

    public CudaGpt(CudaDevice dev, CudaKernels kernels, Cublas blas, GptConfig config, Parameters host) {
        this(dev, kernels, blas, config, host, ATTENTION_CHUNK);
    }

    /** With {@code attentionChunk} queries per attention chunk (tests use small chunks to cover the chunk boundaries). */
    public CudaGpt(CudaDevice dev, CudaKernels kernels, Cublas blas, GptConfig config, Parameters host, int attentionChunk) {
        if (config.lora() != null)
            throw new IllegalArgumentException("LoRA adapters run on the CPU backend so far (model.device: cpu)");
        if (!config.heads().equals(java.util.Set.of(Head.LM)))
            throw new IllegalArgumentException("the CUDA backend runs language-model-head models so far (heads " + config.heads()
                    + " asked); value and reward heads run with model.device: cpu");
        this.dev = dev;
        this.k = kernels;
        this.blas = blas;
        this.c = config;
        this.attentionChunk = attentionChunk;
        this.logitsStride = (config.vocabSize() + 63) / 64 * 64;
        this.layout = ParameterLayout.of(config);
        if (host.layout().size() != layout.size())
            throw new IllegalArgumentException("parameters hold " + host.layout().size() + " values, the config needs " + layout.size());
        this.params = dev.allocate(layout.size(), "parameters");
        this.grads = dev.allocate(layout.size(), "gradients");
        this.headPadded = dev.allocate((long) logitsStride * config.dModel(), "padded LM head");
        this.headGradPadded = dev.allocate((long) logitsStride * config.dModel(), "padded LM-head gradient");
        dev.zero(headPadded);
        upload(host);
        dev.zero(grads);
    }

    public GptConfig config() {
        return c;
    }

    public ParameterLayout layout() {
        return layout;
    }

    DeviceMemory parameterMemory() {
        return params;
    }

    DeviceMemory gradientMemory() {
        return grads;
    }

    public void upload(Parameters host) {
        copyIn(params, host.flat());
    }

    public Parameters parameters(DType dtype) {
        return copyOut(params, dtype);
    }

    public Parameters gradients(DType dtype) {
        return copyOut(grads, dtype);
    }

    public void zeroGradients() {
        dev.zero(grads);
    }

    private void copyIn(DeviceMemory dst, Tensor src) {
        int chunk = 1 << 22;
        float[] buf = new float[chunk];
        for (int o = 0; o < src.size(); o += chunk) {
            int len = Math.min(chunk, src.size() - o);
            src.read(o, buf, 0, len);
            dev.upload(dst, o, buf, 0, len);
        }
    }

    private Parameters copyOut(DeviceMemory src, DType dtype) {
        Parameters out = Parameters.zeros(layout, dtype);
        int chunk = 1 << 22;
        float[] buf = new float[chunk];
        for (int o = 0; o < layout.size(); o += chunk) {
            int len = Math.min(chunk, layout.size() - o);
            dev.download(buf, 0, src, o, len);
            out.flat().write(o, buf, 0, len);
        }
        return out;
    }

    DeviceMemory p(String name) {
        ParameterLayout.Entry e = layout.entry(name);
        return params.slice(e.offset(), e.size());
    }

    CudaDevice device() {
        return dev;
    }

    CudaKernels kernels() {
        return k;
    }

    Cublas blas() {
        return blas;
    }

    private DeviceMemory g(String name) {
        ParameterLayout.Entry e = layout.entry(name);
        return grads.slice(e.offset(), e.size());
    }

    /** A LayerNorm's weight and bias gradients, adjacent in the layout (the param kernel writes both). */
    private DeviceMemory gLayerNorm(String prefix) {
        ParameterLayout.Entry w = layout.entry(prefix + ".weight"), b = layout.entry(prefix + ".bias");
        if (b.offset() != w.offset() + w.size()) throw new IllegalStateException(prefix + " weight and bias are not adjacent in the layout");
        return grads.slice(w.offset(), 2L * w.size());
    }

    DeviceMemory lmHead() {
        return c.tiedLmHead() ? p("wte.weight") : p("lm_head.weight");
    }

    // ------------------------------------------------------------------ forward

    /** Runs the forward pass; the logits [B*T, V] stay on the device ({@link #logits()}). */
    public void forward(Batch batch) {
        batch.validate(c);
        int bsz = batch.batchSize(), t = batch.length(), d = c.dModel(), n = bsz * t;
        reserve(bsz, t);
        Activations a = acts;
        plan = new AttentionPlan(t, Math.min(t, attentionChunk));
        rows = bsz;
        cols = t;
        dev.upload(a.tokens, batch.tokens());
        dev.upload(a.positions, positions(batch));
        dev.upload(a.start, batch.start());

        k.launch1d("embedding_forward", (long) n * d, a.encoded, a.tokens, a.positions, p("wte.weight"), p("wpe.weight"), n, d);
        DeviceMemory residual = a.encoded;
        for (int l = 0; l < c.nLayers(); l++) {
            Layer L = a.layers[l];
            String h = "h." + l + ".";
            // biases join the pass after each product: the QKV bias in the head permutation, the MLP's
            // in its GELU, the projections' with the residual add (one pass over each output, not three)
            layerNorm(L.ln1, L.mean1, L.rstd1, residual, h + "ln_1", n);
            blas.gemm(false, false, n, 3 * d, d, 1f, L.ln1, p(h + "attn.c_attn.weight"), 0f, L.qkv);
            attention(L, a, bsz, t, p(h + "attn.c_attn.bias"));
            blas.gemm(false, false, n, d, d, 1f, L.attY, p(h + "attn.c_proj.weight"), 0f, L.res2);
            k.launch1d("add_bias_residual", (long) n * d, L.res2, p(h + "attn.c_proj.bias"), residual, n, d);
            layerNorm(L.ln2, L.mean2, L.rstd2, L.res2, h + "ln_2", n);
            blas.gemm(false, false, n, 4 * d, d, 1f, L.ln2, p(h + "mlp.c_fc.weight"), 0f, L.fch);
            k.launch1d("bias_gelu_forward", 4L * n * d, L.fchGelu, L.fch, p(h + "mlp.c_fc.bias"), n, 4 * d);
            blas.gemm(false, false, n, d, 4 * d, 1f, L.fchGelu, p(h + "mlp.c_proj.weight"), 0f, L.res3);
            k.launch1d("add_bias_residual", (long) n * d, L.res3, p(h + "mlp.c_proj.bias"), L.res2, n, d);
            residual = L.res3;
        }
        layerNorm(a.lnf, a.lnfMean, a.lnfRstd, residual, "ln_f", n);
        long headCells = (long) c.vocabSize() * d;
        dev.copy(headPadded, 0, lmHead(), 0, headCells); // the parameters may have changed since the last pass; the padding stays 0
        blas.gemm(false, true, n, logitsStride, d, 1f, a.lnf, 0, d, headPadded, 0, d, 0f, a.logits, 0, logitsStride);
        lastBatch = batch;
    }

    /**
     * Activation memory for batches up to {@code bsz} x {@code t}: smaller batches reuse it (micro-batches
     * of varying length would otherwise allocate and free gigabytes each).
     */
    public void reserve(int bsz, int t) {
        if (acts != null && bsz <= acts.bsz && t <= acts.t) return;
        int b = acts == null ? bsz : Math.max(bsz, acts.bsz), l = acts == null ? t : Math.max(t, acts.t);
        releaseActivations();
        acts = new Activations(b, l);
    }

    /** The last forward pass's logits [B*T, V] (they become their gradient in {@link #lossAndBackward}). */
    public float[] downloadLogits() {
        int n = rows * cols, v = c.vocabSize();
        float[] out = new float[Math.multiplyExact(n, v)];
        for (int r = 0; r < n; r++) dev.download(out, r * v, acts.logits, (long) r * logitsStride, v);
        return out;
    }

    void layerNorm(DeviceMemory out, DeviceMemory mean, DeviceMemory rstd, DeviceMemory x, String name, int n) {
        k.launch("layernorm_forward", (n + 7) / 8, 1, 256, 1, 0, out, mean, rstd, x, p(name + ".weight"), p(name + ".bias"),
                n, c.dModel(), (float) c.layerNormEps());
    }

    void linear(DeviceMemory out, DeviceMemory x, String name, int n, int in, int outWidth) {
        k.launch1d("fill_rows", (long) n * outWidth, out, p(name + ".bias"), n, outWidth);
        blas.gemm(false, false, n, outWidth, in, 1f, x, p(name + ".weight"), 1f, out);
    }

    /** Causal attention chunk by chunk: scores, the masked softmax, and the heads' outputs (see {@link AttentionPlan}). */
    private void attention(Layer L, Activations a, int bsz, int t, DeviceMemory qkvBias) {
        int heads = c.nHeads(), hd = c.headDim(), bh = bsz * heads;
        long cells = (long) bsz * t * c.dModel(), headStride = (long) t * hd;
        float scale = (float) (1.0 / Math.sqrt(hd));
        k.launch1d("permute_qkv", cells, L.q, L.k, L.v, L.qkv, qkvBias, bsz, t, heads, hd);
        for (AttentionPlan.Chunk ch : plan.chunks()) {
            int rows = ch.rows(), r1 = ch.r1();
            long off = bh * ch.offset(), stride = ch.cells(), total = (long) bh * rows;
            blas.gemmStrided(false, true, rows, r1, hd, scale, L.q, (long) ch.r0() * hd, hd, headStride, L.k, 0, hd, headStride,
                    0f, L.att, off, r1, stride, bh);
            k.launch("causal_softmax_forward", (int) ((total + 7) / 8), 1, 256, 1, 0, L.att.slice(off, bh * stride), a.start, heads, rows, ch.r0(), r1, total);
            blas.gemmStrided(false, false, rows, hd, r1, 1f, L.att, off, r1, stride, L.v, 0, hd, headStride,
                    0f, a.yh, (long) ch.r0() * hd, hd, headStride, bh);
        }
        k.launch1d("permute_heads", cells, L.attY, a.yh, bsz, t, heads, hd, 1);
    }

    // ------------------------------------------------------------------ loss and backward

    /**
     * Forward pass, the weighted cross-entropy of {@link org.sparkrlhf.loss.LanguageModelLoss} (sum over
     * rows of weight x token loss, divided by {@code normalizer}), and its gradients added to the
     * device's gradient buffer. Returns the loss.
     */
    public double lossAndBackward(Batch batch, int[] targets, float[] weights, double normalizer) {
        int n = batch.batchSize() * batch.length();
        if (targets.length != n || weights.length != n)
            throw new IllegalArgumentException("need one target and weight per cell (" + n + "), got " + targets.length + " and " + weights.length);
        if (!(normalizer > 0)) throw new IllegalArgumentException("normalizer must be > 0, got " + normalizer);
        forward(batch);
        // the host groups the embedding gradient's cells while the GPU runs the forward pass
        EmbeddingGroups tokenGroups = EmbeddingGroups.of(batch.tokens());
        int[] pos = positions(batch);
        if (positionGroups == null || !java.util.Arrays.equals(pos, positionGroupsFor)) {
            positionGroups = EmbeddingGroups.of(pos);
            positionGroupsFor = pos;
        }
        double loss = crossEntropy(targets, weights, normalizer, true);
        backward(tokenGroups, positionGroups);
        return loss;
    }

    /** The loss of the last forward pass; with {@code grad} the logits become its gradient. */
    double crossEntropy(int[] targets, float[] weights, double normalizer, boolean grad) {
        Activations a = acts;
        int n = rows * cols;
        dev.upload(a.targets, targets);
        dev.upload(a.weights, 0, weights, 0, n);
        k.launch("cross_entropy", n, 1, 512, 1, 0, a.logits, a.rowLoss, a.targets, a.weights, c.vocabSize(), (long) logitsStride,
                (float) (1.0 / normalizer), grad ? 1 : 0);
        k.launch("sum_final", 1, 1, 1024, 1, 0, a.scalar, a.rowLoss, n);
        float[] out = new float[1];
        dev.download(out, 0, a.scalar, 0, 1);
        return out[0];
    }

    private static int[] positions(Batch batch) {
        int bsz = batch.batchSize(), t = batch.length();
        int[] pos = new int[bsz * t];
        for (int b = 0; b < bsz; b++)
            for (int i = 0; i < t; i++) pos[b * t + i] = batch.position(b, i);
        return pos;
    }

    private void backward(EmbeddingGroups tokenGroups, EmbeddingGroups positionGroups) {
        Activations a = acts;
        Batch batch = lastBatch;
        int bsz = batch.batchSize(), t = batch.length(), d = c.dModel(), n = bsz * t, v = c.vocabSize();
        int vp = logitsStride;
        blas.gemm(false, false, n, d, vp, 1f, a.logits, 0, vp, headPadded, 0, d, 0f, a.dLnf, 0, d);
        blas.gemm(true, false, vp, d, n, 1f, a.logits, 0, vp, a.lnf, 0, d, 0f, headGradPadded, 0, d);
        k.launch1d("add_inplace", (long) v * d, c.tiedLmHead() ? g("wte.weight") : g("lm_head.weight"), headGradPadded, (long) v * d);

        DeviceMemory last = a.layers[c.nLayers() - 1].res3;
        dev.zero(a.dRes);
        layerNormBackward(a.dRes, a.dLnf, last, "ln_f", a.lnfMean, a.lnfRstd, n);

        for (int l = c.nLayers() - 1; l >= 0; l--) {
            Layer L = a.layers[l];
            DeviceMemory residual = l == 0 ? a.encoded : a.layers[l - 1].res3;
            String h = "h." + l + ".";
            linearBackward(a.dFchGelu, a.dRes, L.fchGelu, h + "mlp.c_proj", n, 4 * d, d);
            k.launch1d("gelu_backward", 4L * n * d, a.dFch, a.dFchGelu, L.fch, 4L * n * d);
            linearBackward(a.dLn, a.dFch, L.ln2, h + "mlp.c_fc", n, d, 4 * d);
            layerNormBackward(a.dRes, a.dLn, L.res2, h + "ln_2", L.mean2, L.rstd2, n);
            linearBackward(a.dAttY, a.dRes, L.attY, h + "attn.c_proj", n, d, d);
            attentionBackward(L, a, bsz, t);
            linearBackward(a.dLn, a.dQkv, L.ln1, h + "attn.c_attn", n, d, 3 * d);
            layerNormBackward(a.dRes, a.dLn, residual, h + "ln_1", L.mean1, L.rstd1, n);
        }
        tokenGroups.scatter(dev, k, g("wte.weight"), a.dRes, d, a.ids, a.offsets, a.cells);
        positionGroups.scatter(dev, k, g("wpe.weight"), a.dRes, d, a.ids, a.offsets, a.cells);
    }

    /**
     * dx = dout W^T (overwritten); dW += x^T dout; db += column sums of dout. The weight gradient's
     * product has a small output and a long sum (all n rows): cuBLAS leaves the GPU part idle on it, so
     * a large one runs as {@link #weightGradSplits} products over row slices, summed in order afterwards
     * (measured on an H200 at 65536 rows: 768x3072 from 139 to 222 TFLOP/s with 8 slices; 768x768 is
     * fastest whole).
     */
    private void linearBackward(DeviceMemory dx, DeviceMemory dout, DeviceMemory x, String name, int n, int in, int outWidth) {
        blas.gemm(false, true, n, in, outWidth, 1f, dout, p(name + ".weight"), 0f, dx);
        int s = weightGradSplits;
        if (s > 1 && n % s == 0 && (long) in * outWidth >= splitMinCells) {
            long rows = n / s, cells = (long) in * outWidth;
            blas.gemmStrided(true, false, in, outWidth, (int) rows, 1f, x, 0, in, rows * in, dout, 0, outWidth, rows * outWidth,
                    0f, acts.dwSlices, 0, outWidth, cells, s);
            k.launch1d("sum_partials", cells, g(name + ".weight"), acts.dwSlices, s, (int) cells);
        } else {
            blas.gemm(true, false, in, outWidth, n, 1f, x, dout, 1f, g(name + ".weight"));
        }
        k.launch("column_partial", (outWidth + 31) / 32, CHUNKS, 32, 8, 0, acts.partial, dout, n, outWidth);
        k.launch1d("sum_partials", outWidth, g(name + ".bias"), acts.partial, CHUNKS, outWidth);
    }

    private void layerNormBackward(DeviceMemory dx, DeviceMemory dout, DeviceMemory x, String name, DeviceMemory mean, DeviceMemory rstd, int n) {
        int d = c.dModel();
        k.launch("layernorm_backward_dx", (n + 7) / 8, 1, 256, 1, 0, dx, dout, x, p(name + ".weight"), mean, rstd, n, d);
        k.launch("layernorm_param_partial", (d + 31) / 32, CHUNKS, 32, 8, 0, acts.partial, dout, x, mean, rstd, n, d);
        k.launch1d("sum_partials", 2L * d, gLayerNorm(name), acts.partial, CHUNKS, 2 * d);
    }

    /**
     * The chunks in reverse: the last chunk reads every key, so its dK and dV products write all rows
     * (beta 0) and the earlier chunks add theirs.
     */
    private void attentionBackward(Layer L, Activations a, int bsz, int t) {
        int heads = c.nHeads(), hd = c.headDim(), bh = bsz * heads;
        long cells = (long) bsz * t * c.dModel(), headStride = (long) t * hd;
        float scale = (float) (1.0 / Math.sqrt(hd));
        k.launch1d("permute_heads", cells, a.dAttY, a.yh, bsz, t, heads, hd, 0); // yh := dY in head layout
        List<AttentionPlan.Chunk> chunks = plan.chunks();
        for (int ci = chunks.size() - 1; ci >= 0; ci--) {
            AttentionPlan.Chunk ch = chunks.get(ci);
            int rows = ch.rows(), r1 = ch.r1();
            long off = bh * ch.offset(), stride = ch.cells(), total = (long) bh * rows, q0 = (long) ch.r0() * hd;
            float beta = ci == chunks.size() - 1 ? 0f : 1f;
            // dP = dY V^T and dV (+)= P^T dY
            blas.gemmStrided(false, true, rows, r1, hd, 1f, a.yh, q0, hd, headStride, L.v, 0, hd, headStride, 0f, a.dAtt, 0, r1, stride, bh);
            blas.gemmStrided(true, false, r1, hd, rows, 1f, L.att, off, r1, stride, a.yh, q0, hd, headStride, beta, a.dv, 0, hd, headStride, bh);
            // dS = P * (dP - rowsum(dP * P))
            k.launch("causal_softmax_backward", (int) ((total + 7) / 8), 1, 256, 1, 0, a.dAtt, L.att.slice(off, bh * stride), rows, ch.r0(), r1, total);
            // S = scale Q K^T: dQ = scale dS K (this chunk's rows) and dK (+)= scale dS^T Q
            blas.gemmStrided(false, false, rows, hd, r1, scale, a.dAtt, 0, r1, stride, L.k, 0, hd, headStride, 0f, a.dq, q0, hd, headStride, bh);
            blas.gemmStrided(true, false, r1, hd, rows, scale, a.dAtt, 0, r1, stride, L.q, q0, hd, headStride, beta, a.dk, 0, hd, headStride, bh);
        }
        k.launch1d("unpermute_qkv", cells, a.dQkv, a.dq, a.dk, a.dv, bsz, t, heads, hd);
    }

    /**
     * Row slices (1 to 8) for the weight-gradient products with at least {@code minCells} outputs: a
     * tuning knob (the sum is the same up to rounding order); tests split every product.
     */
    public void setWeightGradSplits(int splits, long minCells) {
        if (splits < 1 || splits > MAX_WEIGHT_GRAD_SPLITS) throw new IllegalArgumentException("weight-gradient splits must be in [1, 8], got " + splits);
        this.weightGradSplits = splits;
        this.splitMinCells = minCells;
    }

    /** Frees the activation memory (the next forward pass allocates it again). */
    public void releaseActivations() {
        if (acts != null) acts.close();
        acts = null;
    }

    @Override
    public void close() {
        if (acts != null) acts.close();
        params.close();
        grads.close();
        headPadded.close();
        headGradPadded.close();
    }

    // ------------------------------------------------------------------ device buffers

    /** One block's saved activations. */
    private final class Layer {
        final DeviceMemory ln1, mean1, rstd1, qkv, q, k, v, att, attY, res2, ln2, mean2, rstd2, fch, fchGelu, res3;

        Layer(Activations a, int n, long attCells) {
            int d = c.dModel();
            ln1 = a.alloc((long) n * d, "ln_1 output");
            mean1 = a.alloc(n, "ln_1 means");
            rstd1 = a.alloc(n, "ln_1 scales");
            qkv = a.alloc(3L * n * d, "qkv");
            q = a.alloc((long) n * d, "queries"); // kept in head layout for the backward pass
            k = a.alloc((long) n * d, "keys");
            v = a.alloc((long) n * d, "values");
            att = a.alloc(attCells, "attention probabilities");
            attY = a.alloc((long) n * d, "attention output");
            res2 = a.alloc((long) n * d, "residual");
            ln2 = a.alloc((long) n * d, "ln_2 output");
            mean2 = a.alloc(n, "ln_2 means");
            rstd2 = a.alloc(n, "ln_2 scales");
            fch = a.alloc(4L * n * d, "MLP hidden");
            fchGelu = a.alloc(4L * n * d, "MLP GELU");
            res3 = a.alloc((long) n * d, "residual");
        }
    }

    /** Everything a forward and backward pass over a [bsz, t] batch needs, allocated once per shape. */
    private final class Activations implements AutoCloseable {
        final int bsz, t;
        private final List<DeviceMemory> all = new ArrayList<>();
        final DeviceMemory tokens, positions, start, targets, weights, rowLoss, scalar, cells, ids, offsets;
        final DeviceMemory encoded, lnf, lnfMean, lnfRstd, logits, yh;
        final DeviceMemory dRes, dLn, dLnf, dAttY, dFch, dFchGelu, dQkv, dq, dk, dv, dAtt, partial, dwSlices;
        final Layer[] layers;

        /** Sized for batches up to bsz x t (every buffer grows with both). */
        Activations(int bsz, int t) {
            this.bsz = bsz;
            this.t = t;
            AttentionPlan plan = new AttentionPlan(t, Math.min(t, attentionChunk));
            int n = bsz * t, d = c.dModel();
            long nd = (long) n * d, bh = (long) bsz * c.nHeads(), attCells = bh * plan.cellsPerHead();
            try {
                tokens = alloc(n, "token ids");
                positions = alloc(n, "positions");
                start = alloc(bsz, "row starts");
                targets = alloc(n, "targets");
                weights = alloc(n, "loss weights");
                rowLoss = alloc(n, "row losses");
                scalar = alloc(1, "loss");
                cells = alloc(n, "embedding cells");
                ids = alloc(n, "embedding ids");
                offsets = alloc(n + 1, "embedding offsets");
                encoded = alloc(nd, "embeddings");
                lnf = alloc(nd, "ln_f output");
                lnfMean = alloc(n, "ln_f means");
                lnfRstd = alloc(n, "ln_f scales");
                logits = alloc((long) n * logitsStride, "logits");
                yh = alloc(nd, "attention heads");
                dRes = alloc(nd, "residual gradient");
                dLn = alloc(nd, "LayerNorm gradient");
                dLnf = alloc(nd, "ln_f gradient");
                dAttY = alloc(nd, "attention-output gradient");
                dFch = alloc(4 * nd, "MLP gradient");
                dFchGelu = alloc(4 * nd, "MLP GELU gradient");
                dQkv = alloc(3 * nd, "qkv gradient");
                dq = alloc(nd, "query gradient");
                dk = alloc(nd, "key gradient");
                dv = alloc(nd, "value gradient");
                dAtt = alloc(bh * plan.maxChunkCells(), "attention-score gradient");
                partial = alloc((long) CHUNKS * 4 * d, "column-sum partials");
                dwSlices = alloc((long) MAX_WEIGHT_GRAD_SPLITS * 4 * d * d, "weight-gradient slices");
                layers = new Layer[c.nLayers()];
                for (int l = 0; l < layers.length; l++) layers[l] = new Layer(this, n, attCells);
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }

        DeviceMemory alloc(long floats, String what) {
            DeviceMemory m = dev.allocate(floats, what + " for a " + bsz + "x" + t + " batch");
            all.add(m);
            return m;
        }

        /** Bytes of activation memory for this shape. */
        long bytes() {
            long s = 0;
            for (DeviceMemory m : all) s += m.length() * 4;
            return s;
        }

        @Override
        public void close() {
            for (DeviceMemory m : all) m.close();
            all.clear();
        }
    }
}
