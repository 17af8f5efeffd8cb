package org.sparkrlhf.model;

import org.sparkrlhf.tensor.Blas;
import org.sparkrlhf.tensor.Tensor;

/**
 * Runs a {@link Gpt} incrementally: each call appends s columns to a {@link KvCache} and returns
 * their outputs, attending to everything cached before. Prefill is one call with the whole
 * (left-padded) prompt; decoding is one call per new token. Produces the same logits as
 * {@link Gpt#forward} on the full sequences (tested).
 */
public final class Decoder {
    private final Gpt model;
    private final GptConfig c;
    private int rows = -1;
    private Tensor x, lnf, mean, rstd, scores, logits, values;
    private Activations.Layer block; // one block's buffers, reused by every layer
    private Tensor loraScratch;

    public Decoder(Gpt model) {
        this.model = model;
        this.c = model.config();
    }

    /** Outputs for the appended columns: logits [B*s, V] and values [B*s] (null without those heads). */
    public record Step(Tensor logits, Tensor values, int columns) {}

    private void ensure(int n, int keys) {
        var dt = model.parameters().dtype();
        int d = c.dModel();
        if (n != rows) {
            rows = n;
            x = Tensor.zeros(dt, n * d);
            lnf = Tensor.zeros(dt, n * d);
            block = new Activations.Layer(c, dt, n, 0, 0, false);
            loraScratch = c.lora() == null ? null : Tensor.zeros(dt, n * 4 * d);
            mean = Tensor.zeros(dt, n);
            rstd = Tensor.zeros(dt, n);
            logits = c.has(Head.LM) ? Tensor.zeros(dt, n * c.vocabSize()) : null;
            values = c.has(Head.VALUE) ? Tensor.zeros(dt, n) : null;
        }
        if (scores == null || scores.size() < n * keys) scores = Tensor.zeros(dt, Math.max(n * keys, 1));
    }

    private Tensor p(String name) {
        return model.parameters().get(name);
    }

    /** Appends tokens [B, s] (row-major) at the cache's next columns. */
    public Step extend(KvCache cache, int[] tokens, int s) {
        int bsz = cache.batchSize, t0 = cache.length, total = t0 + s, d = c.dModel(), n = bsz * s;
        if (tokens.length != n) throw new IllegalArgumentException("expected " + n + " tokens (B*s), got " + tokens.length);
        if (total > cache.capacity) throw new IllegalArgumentException("KV cache full: " + total + " columns > capacity " + cache.capacity);
        for (int b = 0; b < bsz; b++)
            if (total - cache.start[b] > c.contextLength())
                throw new IllegalArgumentException("row " + b + " would reach " + (total - cache.start[b]) + " tokens, beyond contextLength " + c.contextLength());
        ensure(n, total);

        Tensor wte = p("wte.weight"), wpe = p("wpe.weight");
        for (int b = 0; b < bsz; b++)
            for (int i = 0; i < s; i++) {
                int col = t0 + i, tok = tokens[b * s + i];
                if (tok < 0 || tok >= c.vocabSize()) throw new IllegalArgumentException("token id " + tok + " outside the vocabulary [0, " + c.vocabSize() + ")");
                int pos = col >= cache.start[b] ? col - cache.start[b] : 0;
                int row = (b * s + i) * d;
                for (int j = 0; j < d; j++) x.set(row + j, wte.get(tok * d + j) + wpe.get(pos * d + j));
            }

        Tensor residual = x;
        for (int l = 0; l < c.nLayers(); l++) {
            int layer = l;
            Block.forward(model.parameters(), c, l, residual, block, n, (qkv, y) -> {
                appendKv(cache, layer, t0, s, qkv);
                attend(cache, layer, t0, s, qkv, y);
            }, null, loraScratch); // no dropout when decoding
            residual = block.residual3;
        }
        LayerNorm.forward(lnf, mean, rstd, residual, p("ln_f.weight"), p("ln_f.bias"), n, d, c.layerNormEps());
        if (logits != null)
            Blas.gemm(false, true, n, c.vocabSize(), d, 1.0, lnf, c.tiedLmHead() ? wte : p("lm_head.weight"), 0.0, logits);
        if (values != null) Gpt.scalarHead(values, p("v_head.weight"), p("v_head.bias").get(0), lnf, n, d, null, s);
        cache.length = total;
        return new Step(logits, values, s);
    }

    /** Copies this call's keys and values from the fused QKV rows into the cache's head-major layout. */
    private void appendKv(KvCache cache, int layer, int t0, int s, Tensor qkv) {
        int d = c.dModel(), hd = c.headDim(), heads = c.nHeads(), cap = cache.capacity;
        Tensor k = cache.keys[layer], v = cache.values[layer];
        for (int b = 0; b < cache.batchSize; b++)
            for (int i = 0; i < s; i++) {
                int src = (b * s + i) * 3 * d;
                for (int h = 0; h < heads; h++) {
                    int dst = ((b * heads + h) * cap + t0 + i) * hd;
                    for (int j = 0; j < hd; j++) {
                        k.set(dst + j, qkv.get(src + d + h * hd + j));
                        v.set(dst + j, qkv.get(src + 2 * d + h * hd + j));
                    }
                }
            }
    }

    /** attY[b, i, head] = softmax(q K^T / sqrt(hd)) V over readable cached columns. */
    private void attend(KvCache cache, int layer, int t0, int s, Tensor qkv, Tensor attY) {
        int d = c.dModel(), hd = c.headDim(), heads = c.nHeads(), cap = cache.capacity, total = t0 + s;
        double scale = 1.0 / Math.sqrt(hd);
        Tensor k = cache.keys[layer], v = cache.values[layer];
        for (int b = 0; b < cache.batchSize; b++)
            for (int h = 0; h < heads; h++) {
                int kv = (b * heads + h) * cap * hd;
                Blas.gemm(false, true, s, total, hd, scale, qkv, b * s * 3 * d + h * hd, 3 * d, k, kv, hd, 0.0, scores, 0, total);
                for (int i = 0; i < s; i++) Attention.maskedSoftmaxRow(scores, i * total, t0 + i, cache.start[b], total);
                Blas.gemm(false, false, s, hd, total, 1.0, scores, 0, total, v, kv, hd, 0.0, attY, b * s * d + h * hd, d);
            }
    }
}
