// The GPT-2 model's element-wise, normalization, attention-softmax, loss, optimizer and sampling
// kernels. cuBLAS does the matrix products; these do everything else. Compiled at run time by NVRTC
// to CUBIN for the device's architecture (see CudaKernels.java), float32 throughout.
//
// Every reduction runs in a fixed order (no atomics), so a step gives the same bits every time it is
// run: a resumed run continues exactly as an uninterrupted one on the same GPU.

#define FULL_MASK 0xffffffffu
#ifndef INFINITY
#define INFINITY __int_as_float(0x7f800000)
#endif

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

// Sum over the block (blockDim.x a multiple of 32); every thread gets the result.
__device__ float block_sum(float v, float* scratch32) {
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) scratch32[w] = v;
    __syncthreads();
    v = lane < nw ? scratch32[lane] : 0.f;
    return warp_sum(v);
}

__device__ float block_max(float v, float* scratch32) {
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) scratch32[w] = v;
    __syncthreads();
    v = lane < nw ? scratch32[lane] : -INFINITY;
    return warp_max(v);
}

// ---------------------------------------------------------------- embeddings

// out[r, :] = wte[tok[r], :] + wpe[pos[r], :]
extern "C" __global__ void embedding_forward(float* out, const int* tok, const int* pos,
                                             const float* wte, const float* wpe, int n, int d) {
    long i = (long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long) n * d) return;
    int r = (int) (i / d), j = (int) (i % d);
    out[i] = wte[(long) tok[r] * d + j] + wpe[(long) pos[r] * d + j];
}

// The decoder's embedding of s new columns from t0 (rows [B, s]); positions follow from each row's start.
extern "C" __global__ void embedding_forward_cols(float* out, const int* tok, const int* start, const float* wte,
                                                  const float* wpe, int B, int s, int t0, int d) {
    long i = (long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long) B * s * d) return;
    int r = (int) (i / d), j = (int) (i % d), b = r / s, col = t0 + r % s;
    int pos = col >= start[b] ? col - start[b] : 0;
    out[i] = wte[(long) tok[r] * d + j] + wpe[(long) pos * d + j];
}

// table[ids[u], :] += sum of dout[cells[c], :] for c in [offsets[u], offsets[u+1]): one block per
// distinct id, cells in ascending order, so the sum is deterministic (the host groups the cells).
extern "C" __global__ void embedding_backward(float* table, const float* dout, const int* offsets,
                                              const int* cells, const int* ids, int d) {
    int u = blockIdx.x;
    int lo = offsets[u], hi = offsets[u + 1];
    float* row = table + (long) ids[u] * d;
    for (int j = threadIdx.x; j < d; j += blockDim.x) {
        float acc = 0.f;
        for (int c = lo; c < hi; c++) acc += dout[(long) cells[c] * d + j];
        row[j] += acc;
    }
}

// ---------------------------------------------------------------- LayerNorm (one warp per row)

extern "C" __global__ void layernorm_forward(float* out, float* mean, float* rstd, const float* x,
                                             const float* w, const float* b, int n, int c, float eps) {
    int row = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (row >= n) return;
    const float* xr = x + (long) row * c;
    float s = 0.f;
    for (int i = lane; i < c; i += 32) s += xr[i];
    float m = warp_sum(s) / c;
    float v = 0.f;
    for (int i = lane; i < c; i += 32) { float dv = xr[i] - m; v += dv * dv; }
    float r = rsqrtf(warp_sum(v) / c + eps);
    float* o = out + (long) row * c;
    for (int i = lane; i < c; i += 32) o[i] = (xr[i] - m) * r * w[i] + b[i];
    if (lane == 0) { mean[row] = m; rstd[row] = r; }
}

// dx += (g - mean(g) - xhat * mean(g * xhat)) * rstd, with g = dout * w
extern "C" __global__ void layernorm_backward_dx(float* dx, const float* dout, const float* x, const float* w,
                                                 const float* mean, const float* rstd, int n, int c) {
    int row = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (row >= n) return;
    long o = (long) row * c;
    float m = mean[row], r = rstd[row];
    float sg = 0.f, sgx = 0.f;
    for (int i = lane; i < c; i += 32) {
        float g = dout[o + i] * w[i];
        sg += g;
        sgx += g * (x[o + i] - m) * r;
    }
    float meanG = warp_sum(sg) / c, meanGx = warp_sum(sgx) / c;
    for (int i = lane; i < c; i += 32) {
        float xh = (x[o + i] - m) * r;
        dx[o + i] += (dout[o + i] * w[i] - meanG - xh * meanGx) * r;
    }
}

// Per row chunk y (gridDim.y chunks), partial[y, 0:c] = sum dout * xhat and partial[y, c:2c] = sum dout
// over the chunk's rows. Block (32, 8): 32 adjacent columns, 8 rows at a time (coalesced).
extern "C" __global__ void layernorm_param_partial(float* partial, const float* dout, const float* x,
                                                   const float* mean, const float* rstd, int n, int c) {
    __shared__ float sw[8][33], sb[8][33];
    int col = blockIdx.x * 32 + threadIdx.x;
    int chunk = (n + gridDim.y - 1) / gridDim.y, lo = blockIdx.y * chunk, hi = min(n, lo + chunk);
    float aw = 0.f, ab = 0.f;
    if (col < c)
        for (int r = lo + threadIdx.y; r < hi; r += 8) {
            long o = (long) r * c + col;
            float g = dout[o];
            aw += g * (x[o] - mean[r]) * rstd[r];
            ab += g;
        }
    sw[threadIdx.y][threadIdx.x] = aw;
    sb[threadIdx.y][threadIdx.x] = ab;
    __syncthreads();
    if (threadIdx.y == 0 && col < c) {
        float tw = 0.f, tb = 0.f;
        for (int k = 0; k < 8; k++) { tw += sw[k][threadIdx.x]; tb += sb[k][threadIdx.x]; }
        partial[(long) blockIdx.y * 2 * c + col] = tw;
        partial[(long) blockIdx.y * 2 * c + c + col] = tb;
    }
}

// Per row chunk y, partial[y, :] = column sums of x[chunk rows, :] (a bias gradient, in two passes).
extern "C" __global__ void column_partial(float* partial, const float* x, int n, int c) {
    __shared__ float s[8][33];
    int col = blockIdx.x * 32 + threadIdx.x;
    int chunk = (n + gridDim.y - 1) / gridDim.y, lo = blockIdx.y * chunk, hi = min(n, lo + chunk);
    float a = 0.f;
    if (col < c)
        for (int r = lo + threadIdx.y; r < hi; r += 8) a += x[(long) r * c + col];
    s[threadIdx.y][threadIdx.x] = a;
    __syncthreads();
    if (threadIdx.y == 0 && col < c) {
        float t = 0.f;
        for (int k = 0; k < 8; k++) t += s[k][threadIdx.x];
        partial[(long) blockIdx.y * c + col] = t;
    }
}

// out[j] += sum over y of partial[y, j], y in order.
extern "C" __global__ void sum_partials(float* out, const float* partial, int chunks, int width) {
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= width) return;
    float s = 0.f;
    for (int y = 0; y < chunks; y++) s += partial[(long) y * width + j];
    out[j] += s;
}

// ---------------------------------------------------------------- element-wise

extern "C" __global__ void fill_rows(float* out, const float* b, int n, int c) {
    long i = (long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i < (long) n * c) out[i] = b[i % c];
}

// out[r, :] += b + residual[r, :]: a projection's bias and the residual stream, in one pass
extern "C" __global__ void add_bias_residual(float* out, const float* b, const float* residual, int n, int c) {
    long i = (long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i < (long) n * c) out[i] += b[i % c] + residual[i];
}

extern "C" __global__ void add_inplace(float* y, const float* x, long n) {
    long i = (long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] += x[i];
}

#define GELU_K 0.7978845608028654f
#define GELU_C 0.044715f

extern "C" __global__ void gelu_forward(float* out, const float* x, long n) {
    long i = (long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float v = x[i];
    out[i] = 0.5f * v * (1.f + tanhf(GELU_K * (v + GELU_C * v * v * v)));
}

// pre[r, :] += b (kept for the backward pass), out = gelu(pre): the MLP's bias and activation in one pass
extern "C" __global__ void bias_gelu_forward(float* out, float* pre, const float* b, int n, int c) {
    long i = (long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long) n * c) return;
    float v = pre[i] + b[i % c];
    pre[i] = v;
    out[i] = 0.5f * v * (1.f + tanhf(GELU_K * (v + GELU_C * v * v * v)));
}

// dx = dout * gelu'(x), overwriting dx
extern "C" __global__ void gelu_backward(float* dx, const float* dout, const float* x, long n) {
    long i = (long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float v = x[i];
    float t = tanhf(GELU_K * (v + GELU_C * v * v * v));
    dx[i] = dout[i] * (0.5f * (1.f + t) + 0.5f * v * (1.f - t * t) * GELU_K * (1.f + 3.f * GELU_C * v * v));
}

// ---------------------------------------------------------------- attention layout

// qkv [B, T, 3d] (+ its bias, when given: the product is written without it) -> q, k, v [B, H, T, hd]
extern "C" __global__ void permute_qkv(float* q, float* k, float* v, const float* qkv, const float* bias, int B, int T, int H, int hd) {
    long i = (long) blockIdx.x * blockDim.x + threadIdx.x;
    long total = (long) B * H * T * hd;
    if (i >= total) return;
    int j = (int) (i % hd);
    long r = i / hd;
    int t = (int) (r % T); r /= T;
    int h = (int) (r % H);
    int b = (int) (r / H);
    int d = H * hd, c = h * hd + j;
    long src = ((long) b * T + t) * 3 * d + c;
    float bq = 0.f, bk = 0.f, bv = 0.f;
    if (bias != 0) { bq = bias[c]; bk = bias[d + c]; bv = bias[2 * d + c]; }
    q[i] = qkv[src] + bq;
    k[i] = qkv[src + d] + bk;
    v[i] = qkv[src + 2 * d] + bv;
}

// the inverse for gradients: dq, dk, dv [B, H, T, hd] -> dqkv [B, T, 3d]
extern "C" __global__ void unpermute_qkv(float* dqkv, const float* dq, const float* dk, const float* dv, int B, int T, int H, int hd) {
    long i = (long) blockIdx.x * blockDim.x + threadIdx.x;
    long total = (long) B * H * T * hd;
    if (i >= total) return;
    int j = (int) (i % hd);
    long r = i / hd;
    int t = (int) (r % T); r /= T;
    int h = (int) (r % H);
    int b = (int) (r / H);
    int d = H * hd;
    long dst = ((long) b * T + t) * 3 * d + h * hd + j;
    dqkv[dst] = dq[i];
    dqkv[dst + d] = dk[i];
    dqkv[dst + 2 * d] = dv[i];
}

// heads [B, H, T, hd] <-> rows [B, T, d]; toRows picks the direction
extern "C" __global__ void permute_heads(float* rows, float* heads, int B, int T, int H, int hd, int toRows) {
    long i = (long) blockIdx.x * blockDim.x + threadIdx.x;
    long total = (long) B * H * T * hd;
    if (i >= total) return;
    int j = (int) (i % hd);
    long r = i / hd;
    int t = (int) (r % T); r /= T;
    int h = (int) (r % H);
    int b = (int) (r / H);
    long o = ((long) b * T + t) * H * hd + h * hd + j;
    if (toRows) rows[o] = heads[i]; else heads[i] = rows[o];
}

// ---------------------------------------------------------------- causal softmax (one warp per row)

// One query chunk's scores [B*H, rows, width] (see AttentionPlan): local row li of head bh is query
// i = row0 + li, which reads keys [start[b], i]; width = the chunk's last query + 1. A left-padding
// query (i < start) reads only itself, which keeps its unused output finite. Rows up to 1024 wide
// stay in registers: the scores are read once and written once.
#define REG_COLS 32

extern "C" __global__ void causal_softmax_forward(float* att, const int* start, int H, int rows, int row0, int width, long total) {
    long row = (long) blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (row >= total) return;
    long bh = row / rows;
    int i = row0 + (int) (row % rows), b = (int) (bh / H);
    int s0 = start[b];
    float* r = att + row * width;
    if (i < s0) {
        for (int j = lane; j < width; j += 32) r[j] = j == i ? 1.f : 0.f;
        return;
    }
    if (width <= 32 * REG_COLS) {
        float v[REG_COLS];
        float m = -INFINITY;
#pragma unroll
        for (int u = 0; u < REG_COLS; u++) {
            int j = lane + 32 * u;
            v[u] = (j >= s0 && j <= i) ? r[j] : -INFINITY;
            m = fmaxf(m, v[u]);
        }
        m = warp_max(m);
        float s = 0.f;
#pragma unroll
        for (int u = 0; u < REG_COLS; u++) {
            v[u] = expf(v[u] - m); // 0 for masked keys
            s += v[u];
        }
        float inv = 1.f / warp_sum(s);
#pragma unroll
        for (int u = 0; u < REG_COLS; u++) {
            int j = lane + 32 * u;
            if (j < width) r[j] = v[u] * inv;
        }
        return;
    }
    float m = -INFINITY;
    for (int j = s0 + lane; j <= i; j += 32) m = fmaxf(m, r[j]);
    m = warp_max(m);
    float s = 0.f;
    for (int j = s0 + lane; j <= i; j += 32) s += expf(r[j] - m);
    float inv = 1.f / warp_sum(s);
    for (int j = lane; j < width; j += 32) r[j] = (j >= s0 && j <= i) ? expf(r[j] - m) * inv : 0.f;
}

// dS = P * (dP - rowsum(dP * P)), in place over dP; P is zero beyond the query (j > i), so only
// [0, i] is read.
extern "C" __global__ void causal_softmax_backward(float* dp, const float* att, int rows, int row0, int width, long total) {
    long row = (long) blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (row >= total) return;
    int i = row0 + (int) (row % rows);
    float* g = dp + row * width;
    const float* p = att + row * width;
    if (width <= 32 * REG_COLS) {
        float pv[REG_COLS], gv[REG_COLS];
        float dot = 0.f;
#pragma unroll
        for (int u = 0; u < REG_COLS; u++) {
            int j = lane + 32 * u;
            bool in = j <= i;
            pv[u] = in ? p[j] : 0.f;
            gv[u] = in ? g[j] : 0.f;
            dot += pv[u] * gv[u];
        }
        dot = warp_sum(dot);
#pragma unroll
        for (int u = 0; u < REG_COLS; u++) {
            int j = lane + 32 * u;
            if (j < width) g[j] = pv[u] * (gv[u] - dot);
        }
        return;
    }
    float dot = 0.f;
    for (int j = lane; j <= i; j += 32) dot += g[j] * p[j];
    dot = warp_sum(dot);
    for (int j = lane; j < width; j += 32) g[j] = j <= i ? p[j] * (g[j] - dot) : 0.f;
}

// ---------------------------------------------------------------- loss

// One block per row of V logits (row stride ld >= V, padding untouched): loss[r] = w[r] * invNorm *
// (lse - logit[target]); when grad != 0 the logits are overwritten by d loss / d logits =
// w * invNorm * (softmax - onehot(target)). The max and the sum come from one pass (online softmax),
// so the row is read twice and written once.
extern "C" __global__ void cross_entropy(float* logits, float* loss, const int* targets, const float* weights,
                                         int V, long ld, float invNorm, int grad) {
    __shared__ float sm[32], ss[32];
    long row = blockIdx.x;
    float* l = logits + row * ld;
    float w = weights[row] * invNorm;
    if (w == 0.f) {
        if (grad) for (int j = threadIdx.x; j < V; j += blockDim.x) l[j] = 0.f;
        if (threadIdx.x == 0) loss[row] = 0.f;
        return;
    }
    int tgt = targets[row];
    float m = -INFINITY, s = 0.f;
    for (int j = threadIdx.x; j < V; j += blockDim.x) {
        float x = l[j];
        if (x > m) { s = s * expf(m - x) + 1.f; m = x; } else s += expf(x - m);
    }
    // merge (m, s) across the block: warps, then the warps' results
    for (int o = 16; o > 0; o >>= 1) {
        float m2 = __shfl_xor_sync(FULL_MASK, m, o), s2 = __shfl_xor_sync(FULL_MASK, s, o);
        float mm = fmaxf(m, m2);
        s = (m == -INFINITY ? 0.f : s * expf(m - mm)) + (m2 == -INFINITY ? 0.f : s2 * expf(m2 - mm));
        m = mm;
    }
    int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    if (lane == 0) { sm[wid] = m; ss[wid] = s; }
    __syncthreads();
    m = lane < nw ? sm[lane] : -INFINITY;
    s = lane < nw ? ss[lane] : 0.f;
    for (int o = 16; o > 0; o >>= 1) {
        float m2 = __shfl_xor_sync(FULL_MASK, m, o), s2 = __shfl_xor_sync(FULL_MASK, s, o);
        float mm = fmaxf(m, m2);
        s = (m == -INFINITY ? 0.f : s * expf(m - mm)) + (m2 == -INFINITY ? 0.f : s2 * expf(m2 - mm));
        m = mm;
    }
    float lse = m + logf(s);
    float lt = l[tgt];
    __syncthreads(); // every thread has read l[tgt] before any overwrite
    if (threadIdx.x == 0) loss[row] = w * (lse - lt);
    if (grad)
        for (int j = threadIdx.x; j < V; j += blockDim.x) l[j] = w * (expf(l[j] - lse) - (j == tgt ? 1.f : 0.f));
}

// ---------------------------------------------------------------- reductions and AdamW

// partial[block] = sum of x[i]^2 (squares != 0) or x[i] over the block's grid-strided share
extern "C" __global__ void sum_partial(float* partial, const float* x, long n, int squares) {
    __shared__ float scratch[32];
    float s = 0.f;
    for (long i = (long) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long) gridDim.x * blockDim.x) {
        float v = x[i];
        s += squares ? v * v : v;
    }
    s = block_sum(s, scratch);
    if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

// out[0] = sum of x[0:n] in a fixed order (one block)
extern "C" __global__ void sum_final(float* out, const float* x, int n) {
    __shared__ float scratch[32];
    float s = 0.f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += x[i];
    s = block_sum(s, scratch);
    if (threadIdx.x == 0) out[0] = s;
}

// The AdamW update of optim/AdamW.java, on one run of tensors that share the decay flag.
extern "C" __global__ void adamw(float* p, const float* g, float* m, float* v, long n, float clip, float lr,
                                 float b1, float b2, float c1, float c2, float eps, float wd) {
    long i = (long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float gi = g[i] * clip;
    float mi = b1 * m[i] + (1.f - b1) * gi;
    float vi = b2 * v[i] + (1.f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    float pi = p[i];
    p[i] = pi - lr * (mi / c1) / (sqrtf(vi / c2) + eps) - wd * pi;
}

// ---------------------------------------------------------------- incremental decoding

// Copies this call's keys and values (s new columns from t0) into the cache [B, H, cap, hd].
extern "C" __global__ void kv_append(float* kc, float* vc, const float* qkv, int B, int s, int H, int hd, int cap, int t0) {
    long i = (long) blockIdx.x * blockDim.x + threadIdx.x;
    long total = (long) B * s * H * hd;
    if (i >= total) return;
    int j = (int) (i % hd);
    long r = i / hd;
    int h = (int) (r % H); r /= H;
    int c = (int) (r % s);
    int b = (int) (r / s);
    int d = H * hd;
    long src = ((long) b * s + c) * 3 * d + h * hd + j;
    long dst = (((long) b * H + h) * cap + t0 + c) * hd + j;
    kc[dst] = qkv[src + d];
    vc[dst] = qkv[src + 2 * d];
}

// One block per (b*H + h, new column i): y[b, i, h, :] = softmax(q K^T * scale) V over the readable cached
// columns [start[b], t0 + i]. Warps take keys in turn (lanes across the head dimension, coalesced); the
// scores live in shared memory (cap floats).
extern "C" __global__ void decode_attention(float* y, const float* qkv, const float* kc, const float* vc,
                                            const int* start, int s, int H, int hd, int cap, int t0, float scale) {
    extern __shared__ float sh[];
    float* scores = sh;            // cap
    float* q = sh + cap;           // hd
    __shared__ float scratch[32];
    int bh = blockIdx.x, i = blockIdx.y, b = bh / H, h = bh % H, d = H * hd;
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
    int col = t0 + i, s0 = start[b];
    const float* K = kc + (long) bh * cap * hd;
    const float* Vv = vc + (long) bh * cap * hd;
    float* out = y + ((long) b * s + i) * d + h * hd;
    if (col < s0) { // a left-padding query reads only itself
        for (int j = threadIdx.x; j < hd; j += blockDim.x) out[j] = Vv[(long) col * hd + j];
        return;
    }
    const float* qr = qkv + ((long) b * s + i) * 3 * d + h * hd;
    for (int j = threadIdx.x; j < hd; j += blockDim.x) q[j] = qr[j];
    __syncthreads();
    for (int c = s0 + w; c <= col; c += nw) {
        float a = 0.f;
        for (int j = lane; j < hd; j += 32) a += q[j] * K[(long) c * hd + j];
        a = warp_sum(a);
        if (lane == 0) scores[c] = a * scale;
    }
    __syncthreads();
    float m = -INFINITY;
    for (int c = s0 + threadIdx.x; c <= col; c += blockDim.x) m = fmaxf(m, scores[c]);
    m = block_max(m, scratch);
    float sum = 0.f;
    for (int c = s0 + threadIdx.x; c <= col; c += blockDim.x) {
        float e = expf(scores[c] - m);
        scores[c] = e;
        sum += e;
    }
    sum = block_sum(sum, scratch); // its barriers also publish the exponentials
    float inv = 1.f / sum;
    for (int j = threadIdx.x; j < hd; j += blockDim.x) {
        float a = 0.f;
        for (int c = s0; c <= col; c++) a += scores[c] * Vv[(long) c * hd + j];
        out[j] = a * inv;
    }
}

// ---------------------------------------------------------------- benchmarks

// x[i] = a value in [-0.5, 0.5) hashed from (seed, i): random-looking data without a host copy
extern "C" __global__ void fill_hash(float* x, long n, int seed) {
    long i = (long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    unsigned long long h = (unsigned long long) i * 0x9E3779B97F4A7C15ull + (unsigned long long) seed * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31; h *= 0x94D049BB133111EBull; h ^= h >> 29;
    x[i] = (float) (h >> 40) * (1.0f / 16777216.0f) - 0.5f;
}

// ---------------------------------------------------------------- sampling

__device__ __forceinline__ unsigned long long splitmix64(unsigned long long x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

// Count (and probability mass, as exp(x - m)) of logits >= tau over the row; every thread gets both.
__device__ void count_above(const float* x, int V, float tau, float m, float* count, float* mass, float* scratch32) {
    float c = 0.f, s = 0.f;
    for (int j = threadIdx.x; j < V; j += blockDim.x)
        if (x[j] >= tau) { c += 1.f; s += expf(x[j] - m); }
    *count = block_sum(c, scratch32);
    *mass = block_sum(s, scratch32);
}

// One block per row: scales the logits by 1/temperature in place, keeps the top-k and the smallest top
// set reaching mass top_p (thresholds found by bisection over values: no sort), then draws with a
// counter-based generator keyed by (seed[row], step): a row's draw never depends on other rows, so a
// rerun or a retried task picks the same tokens. logprob is the token's log-probability under the
// temperature-scaled distribution before truncation, as sampling/TokenChooser reports it. Top-p counts
// mass of the whole distribution, and both limits hold at once (the CPU's semantics). temperature 0 = argmax.
// Rows with active[row] == 0 (finished) are skipped.
extern "C" __global__ void sample_tokens(int* tokens, float* logprob, float* logits, int V, float temperature,
                                         int topK, float topP, const unsigned long long* seeds, int step,
                                         const int* active) {
    __shared__ float scratch[32];
    __shared__ float chunkSums[1024];
    __shared__ int chosen;
    int row = blockIdx.x;
    if (active != 0 && !active[row]) { if (threadIdx.x == 0) { tokens[row] = 0; logprob[row] = 0.f; } return; } // a finished row feeds token 0
    float* x = logits + (long) row * V;
    if (temperature == 0.f) {
        float m = -INFINITY;
        for (int j = threadIdx.x; j < V; j += blockDim.x) m = fmaxf(m, x[j]);
        m = block_max(m, scratch);
        if (threadIdx.x == 0) chosen = V;
        __syncthreads();
        for (int j = threadIdx.x; j < V; j += blockDim.x) if (x[j] == m) atomicMin(&chosen, j); // lowest index: deterministic
        __syncthreads();
        if (threadIdx.x == 0) { tokens[row] = chosen; logprob[row] = 0.f; }
        return;
    }
    float inv = 1.f / temperature, lo = INFINITY, m = -INFINITY;
    for (int j = threadIdx.x; j < V; j += blockDim.x) { float v = x[j] * inv; x[j] = v; m = fmaxf(m, v); lo = fminf(lo, v); }
    m = block_max(m, scratch);
    lo = -block_max(-lo, scratch);
    float count, mass, total;
    count_above(x, V, -INFINITY, m, &count, &total, scratch);
    float tau = -INFINITY;
    if (topK > 0 && topK < V) { // largest tau with count(x >= tau) >= k
        float a = lo, b = m;
        for (int it = 0; it < 40; it++) {
            float mid = 0.5f * (a + b);
            count_above(x, V, mid, m, &count, &mass, scratch);
            if (count >= topK) a = mid; else b = mid;
        }
        tau = a;
    }
    if (topP < 1.f) { // largest tau2 with mass(x >= tau2) >= topP * total
        float a = lo, b = m;
        for (int it = 0; it < 40; it++) {
            float mid = 0.5f * (a + b);
            count_above(x, V, mid, m, &count, &mass, scratch);
            if (mass >= topP * total) a = mid; else b = mid;
        }
        tau = fmaxf(tau, a);
    }
    // kept mass, then inverse CDF over the kept tokens in index order: per-thread contiguous chunks
    int per = (V + blockDim.x - 1) / blockDim.x, j0 = threadIdx.x * per, j1 = min(V, j0 + per);
    float cs = 0.f;
    for (int j = j0; j < j1; j++) if (x[j] >= tau) cs += expf(x[j] - m);
    chunkSums[threadIdx.x] = cs;
    __syncthreads();
    if (threadIdx.x == 0) {
        float acc = 0.f;
        for (int t = 0; t < blockDim.x; t++) { float c = chunkSums[t]; chunkSums[t] = acc; acc += c; }
        unsigned long long r = splitmix64(seeds[row] ^ splitmix64((unsigned long long) step + 0x632BE59BD9B4E019ull));
        float u = (float) ((r >> 40) * (1.0 / 16777216.0)); // 24 random bits in [0, 1)
        scratch[0] = u * acc;
        chosen = -1;
    }
    __syncthreads();
    float target = scratch[0];
    float before = chunkSums[threadIdx.x];
    if (before <= target && target < before + cs) {
        float acc = before;
        int pick = -1;
        for (int j = j0; j < j1; j++) {
            if (x[j] < tau) continue;
            pick = j;
            acc += expf(x[j] - m);
            if (acc > target) break;
        }
        chosen = pick;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        int c = chosen;
        if (c < 0) { // rounding put the target past the last kept token: take the last kept one
            for (int j = V - 1; j >= 0; j--) if (x[j] >= tau) { c = j; break; }
        }
        tokens[row] = c;
        logprob[row] = x[c] - m - logf(total);
    }
}
