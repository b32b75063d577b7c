// Raw-pointer CPU kernels behind the N-API glue in addon.cc. All tensors are dense, row-major float32.
// Shapes are given in the comments as (dim, ...); callers (addon.cc) check every buffer length first.
#pragma once
#include <cstdint>
#include <cmath>
#include <cstring>

namespace lk {

// ---- threads --------------------------------------------------------------------------------------------
/** Threads used by the fused kernels (OpenMP); OpenBLAS keeps its own pool (openblas_set_num_threads). */
int fused_threads();
void set_fused_threads(int n);

// ---- matrix products (gemm.cc) --------------------------------------------------------------------------
/**
 * C[i] = alpha · op(A[aIdx[i]]) · op(B[bIdx[i]]) + beta · C[i] for i < batch, op(X) = X or Xᵀ.
 * A: (batchA, m, k) or (batchA, k, m) when transA; B: (batchB, k, n) or (batchB, n, k) when transB;
 * C: (batch, m, n). aIdx/bIdx map each output batch to its (broadcast) operand batch.
 */
void sgemm_batched(const float* A, const float* B, float* C, int batch, const int32_t* aIdx, const int32_t* bIdx,
                   int m, int n, int k, bool transA, bool transB, float alpha, float beta);

// ---- bf16 matrix products (bf16-gemm.cc) -----------------------------------------------------------------
/** Whether this CPU runs AVX-512 BF16 (vdpbf16ps); without it the bf16 entry points below run fp32 sgemm. */
bool bf16_supported();
/**
 * C (m, n) = alpha · op(A) · op(B) + beta · C, row-major with leading dimensions, A and B rounded to bf16 (nearest
 * even) and the products summed in fp32: the matmul of PyTorch's CPU autocast to bfloat16, with an fp32 result.
 */
void bf16_gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* A, int lda, const float* B, int ldb,
               float beta, float* C, int ldc);
/** sgemm_batched's contract (batched, broadcast batch indices) with bf16_gemm's arithmetic. */
void bf16_gemm_batched(const float* A, const float* B, float* C, int batch, const int32_t* aIdx, const int32_t* bIdx,
                       int m, int n, int k, bool transA, bool transB, float alpha, float beta);
/** The process-wide matmul precision: bf16 (true; only where bf16_supported()) or fp32 (false, the default). */
void set_matmul_bf16(bool on);
bool matmul_bf16();
/**
 * The products of the kernels (BatchMatMul, LoRA linear, linear cross-entropy; not the fused attention's per-block
 * products nor lora_adapter_grad's, which stay fp32): bf16_gemm when the matmul
 * precision is bf16, else cblas_sgemm. Same contract as bf16_gemm.
 */
void matmul(bool ta, bool tb, int m, int n, int k, float alpha, const float* A, int lda, const float* B, int ldb,
            float beta, float* C, int ldc);

// ---- elementwise / row-wise (elementwise.cc) -----------------------------------------------------------
/** RMSNorm (Zhang & Sennrich 2019): y = x · rstd · w, rstd = 1/sqrt(mean(x²) + eps). x, y: (rows, d); rstd: (rows). */
void rmsnorm_forward(const float* x, const float* w, float* y, float* rstd, int64_t rows, int d, float eps);
/** dx = rstd·(dy·w) − x·rstd³·mean((dy·w)·x); dw = Σ_rows dy·x·rstd. */
void rmsnorm_backward(const float* dy, const float* x, const float* w, const float* rstd, float* dx, float* dw,
                      int64_t rows, int d);
/** y = a + b elementwise (same shapes). */
void add(const float* a, const float* b, float* y, int64_t n);
/** SwiGLU (Shazeer 2020): y = silu(g)·u, silu(g) = g·σ(g). */
void swiglu_forward(const float* g, const float* u, float* y, int64_t n);
/** du = dy·silu(g); dg = dy·u·σ(g)·(1 + g·(1 − σ(g))). */
void swiglu_backward(const float* dy, const float* g, const float* u, float* dg, float* du, int64_t n);
/**
 * Inverted dropout: y_i = x_i / (1 − rate) where the element is kept, else 0. Element i is dropped when a hash of
 * (seed, i) mapped to [0, 1) is below `rate`: the mask depends on the seed and the index only, so the same call on dy
 * is the gradient. 0 ≤ rate < 1; the caller maps its seed to the 64-bit key (JavaScript: the float64 bits).
 */
void dropout(const float* x, float* y, int64_t n, float rate, uint64_t seed);
/**
 * seqMajor: x (and q, k, v, o of the attention) are (B, T, H, hd) instead of (B, H, T, hd): the layout a projection's
 * output has after a reshape, so no transpose is needed before or after.
 *
 * Rotary embeddings, HF Llama convention: x (B, H, T, hd) → x·cos + rotate_half(x)·sin with
 * rotate_half(x) = cat(−x₂, x₁); cos/sin (Bc, 1, T, hd) with Bc ∈ {1, B}. inverse = true applies the
 * transposed rotation (the backward pass: dx = dy·cos − rotate_half(dy)·sin, i.e. sin → −sin).
 */
void rope_apply(const float* x, const float* cos, const float* sin, float* y, int B, int H, int T, int hd, int Bc,
                bool inverse, bool seqMajor = false);

// ---- pointwise arithmetic and sums (pointwise.cc) -----------------------------------------------------------
enum BinaryOp { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3, kMaximum = 4, kMinimum = 5, kSquaredDifference = 6 };
enum UnaryOp { kNeg = 0, kSquare = 1, kSqrt = 2, kRsqrt = 3, kExp = 4, kAbs = 5, kReciprocal = 6, kSign = 7 };
/**
 * y (n) = a op b with broadcasting: each operand has n elements, or 1 (a scalar), or a period p dividing n (it repeats
 * along the leading axes: its shape is a suffix of y's). At least one operand has n elements unless both are scalars.
 */
void binary(int op, const float* a, int64_t na, const float* b, int64_t nb, float* y, int64_t n);
/** y = op(x) elementwise. */
void unary(int op, const float* x, float* y, int64_t n);
/** y (rows) = Σ over the columns of x (rows, cols); one row is summed in double precision. */
void sum_rows(const float* x, int64_t rows, int64_t cols, float* y);
/** y (cols) = Σ over the rows of x (rows, cols). */
void sum_cols(const float* x, int64_t rows, int64_t cols, float* y);
/** y = softmax of each row of x (rows, cols), max-subtracted; a row of −inf only gives NaN, as tfjs. */
void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols);

// ---- layout (transpose.cc) -----------------------------------------------------------------------------
/** y = transpose(x, perm) for 4-byte elements; shape is x's (rank dims); y has shape[perm[i]] on axis i. */
void transpose4(const uint32_t* x, uint32_t* y, const int64_t* shape, const int* perm, int rank);

// ---- attention (attention.cc) ----------------------------------------------------------------------------
/**
 * Causal scaled-dot-product attention, one query row at a time (memory O(T) per thread, no (T, T) matrix).
 * q: (B, nh, T, hs); k, v: (B, nkv, T, hs), nh % nkv == 0 (grouped-query); o: (B, nh, T, hs);
 * lse: (B, nh, T) log-sum-exp of the scaled scores of each row, kept for the backward pass.
 * keyMask: null, or (B, T) with 0 for a padding key (excluded) and nonzero for a real one; a query row that sees no
 * real key gets o = 0 and lse = −inf (and zero gradients in the backward pass).
 */
void attention_forward(const float* q, const float* k, const float* v, float* o, float* lse, int B, int nh, int nkv,
                       int T, int hs, float scale, bool seqMajor = false, const float* keyMask = nullptr);
/** FlashAttention-2 style backward (Dao 2023, Alg. 2) recomputing P = exp(S − lse) row by row. */
void attention_backward(const float* q, const float* k, const float* v, const float* o, const float* lse,
                        const float* dout, float* dq, float* dk, float* dv, int B, int nh, int nkv, int T, int hs,
                        float scale, bool seqMajor = false, const float* keyMask = nullptr);

/**
 * Attention of Tq new queries over a KV cache (incremental decoding): q, o (B, Tq, nh, hs); k, v (B, C, nkv, hs)
 * caches of capacity C whose first Tk positions are filled (the new keys last); query i sees keys 0..Tk − Tq + i.
 * keyMask: null, or (B, Tk) with 0 for a padding key; a query row that sees no real key gets o = 0. Forward only.
 */
void attention_cached(const float* q, const float* k, const float* v, float* o, int B, int nh, int nkv, int Tq, int Tk,
                      int C, int hs, float scale, const float* keyMask = nullptr);

// ---- sampling (sampling.cc) ------------------------------------------------------------------------------
/**
 * One token per row of logits (B, V): temperature > 0, then the top k (0 = all), then the top-p nucleus (1 = all),
 * chosen with the row's uniform draw u[b] ∈ [0, 1), exactly as @loralab/model's sampleToken with that draw.
 */
void sample_rows(const float* logits, int B, int V, double temperature, int topK, double topP, const double* u,
                 int32_t* out);

// ---- loss (cross-entropy.cc) -----------------------------------------------------------------------------
/**
 * Softmax cross-entropy per row: loss[i] = lse(logits[i]) − logits[i, label[i]], 0 where label == ignore.
 * logits: (rows, V); labels: (rows); lse: (rows). Returns the number of rows not ignored. Throws (returns −1 − i)
 * for a label outside [0, V) that is not the ignore index, at row i.
 */
int64_t cross_entropy_forward(const float* logits, const int32_t* labels, float* loss, float* lse, int64_t rows, int V,
                              int32_t ignore);
/** dlogits[i] = scale[i]·(softmax(logits[i]) − onehot(label[i])), 0 for ignored rows. */
void cross_entropy_backward(const float* logits, const int32_t* labels, const float* lse, const float* scale,
                            float* dlogits, int64_t rows, int V, int32_t ignore);
/** cross_entropy_forward, then cross_entropy_backward with one scale for every row, in place and row by row (each row
 * read from memory once): logits becomes dlogits; an ignored row gets loss 0 and a zero gradient. Same return value
 * as cross_entropy_forward. */
int64_t cross_entropy_forward_backward(float* logits, const int32_t* labels, float* loss, float scale, int64_t rows,
                                       int V, int32_t ignore);

/**
 * Σ-form loss of the lm_head: loss[i] = cross-entropy of logits_i = h_i Wᵀ (h: (rows, d), W: (V, d)) against
 * labels[i] (0 where ignored), computed `chunk` rows at a time with a (chunk, V) scratch buffer. When dh (rows, d)
 * or dW (V, d) is non-null, it receives the gradient of Σ_i scale·loss[i] (dW is overwritten, not accumulated).
 * Returns the number of rows not ignored, or −1 − i for a label outside [0, V) at row i (nothing written then).
 */
int64_t linear_cross_entropy(const float* h, const float* W, const int32_t* labels, int64_t rows, int d, int V,
                             int32_t ignore, float scale, float* loss, float* dh, float* dW, int64_t chunk);

// ---- LoRA adapter gradients (lora.cc) -------------------------------------------------------------------------
/** The largest rank lora_adapter_grad takes: beyond it the r-wide products are wide enough for the BLAS. */
constexpr int kLoraFusedMaxRank = 64;
/**
 * The adapter's part of a LoRA linear's backward pass (y = x Wᵀ + s · x Aᵀ Bᵀ), in one pass over row blocks:
 * x (n, in), dy (n, out), A (r, in), B (out, r); t (n, r) = x Aᵀ when given, else computed; u (n, r) receives dy B
 * when non-null; dA (r, in) = s · uᵀ x and dB (out, r) = s · dyᵀ t are overwritten. fp32 arithmetic in any matmul
 * precision. 1 ≤ r ≤ kLoraFusedMaxRank.
 */
void lora_adapter_grad(const float* x, const float* dy, const float* A, const float* B, const float* t, float* u,
                       float* dA, float* dB, int64_t n, int in, int out, int r, float s);

// ---- optimizers (optimizer.cc) ---------------------------------------------------------------------------
/** AdamW (Loshchilov & Hutter 2019), PyTorch semantics, in place on p, m, v. step ≥ 1. */
void adamw_update(float* p, float* m, float* v, const float* g, int64_t n, float lr, float beta1, float beta2,
                  float eps, float weightDecay, int step);
/** Lion (Chen et al. 2023) with decoupled weight decay, in place on p, m. */
void lion_update(float* p, float* m, const float* g, int64_t n, float lr, float beta1, float beta2, float weightDecay);

// ---- machine peak (peak.cc) ---------------------------------------------------------------------------------
/** fp32 GFLOP/s of `iterations` rounds of 12 independent 16-wide FMA chains on every fused-kernel thread. */
double fma_peak_gflops(int64_t iterations);

// ---- helpers -----------------------------------------------------------------------------------------------
/** exp(x) for float32, Cephes polynomial (rel. error < 2e-7), branch-free so loops over it vectorise; 0 below −87.3. */
static inline float fast_exp(float x) {
  // Ternaries, not fminf/fmaxf: their NaN rules keep GCC from vectorising without -ffinite-math-only.
  const float xc = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
  const float n = floorf(xc * 1.44269504088896341f + 0.5f);
  const float r = xc - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  const float scale = __builtin_bit_cast(float, bits);  // 2ⁿ (a memcpy here stops GCC from vectorising callers)
  return x < -87.3f ? 0.0f : p * scale;
}

}  // namespace lk
