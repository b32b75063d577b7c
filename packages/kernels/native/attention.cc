// Causal self-attention forward and backward, block-wise on the BLAS: for each (batch, head) the queries are taken
// in blocks of kBlock rows, and only the scores of one block against the keys it can see (kBlock × (i0 + kBlock)) ever
// exist, so memory is O(kBlock · T) whatever the batch and head counts; each row's log-sum-exp is kept for the
// backward pass, which recomputes the probabilities as in FlashAttention-2 (Dao 2023, arXiv 2307.08691, Alg. 2).
// The products per block are single-threaded cblas_sgemm calls, the row-wise softmax runs in between, and the
// (batch, kv head) units run in parallel on the fused-kernel threads (each with its own scratch), so the small
// per-head products of a short sequence keep every core busy. Blocks skip the keys above the diagonal, so the
// causal half of the work is not done.

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels.h"
#include "platform.h"

namespace lk {

namespace {

constexpr int kBlock = 128;  // query rows per block

/**
 * OpenBLAS on one thread while alive: the attention's products are per-head and small, and run concurrently from
 * the OpenMP threads, so OpenBLAS's own pool would only oversubscribe the cores.
 */
struct SerialBlas {
  int saved = lk::blas::get_threads();
  SerialBlas() { lk::blas::set_threads(1); }
  ~SerialBlas() { lk::blas::set_threads(saved); }
};

/** Threads for `units` independent (batch, head) units: at most one per unit. */
int unit_threads(int64_t units) {
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(fused_threads(), units)));
}

/** C (m, n) = alpha · op(A) · op(B) + beta · C, row-major with explicit leading dimensions. */
void gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* A, int lda, const float* B, int ldb,
          float beta, float* C, int ldc) {
  // Always fp32, also under the bf16 matmul precision: these per-block products (128 × T × hs) are too small for
  // bf16 to pay (measured: the same forward time, an 8% slower backward pass), and fp32 keeps the scores exact.
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, A, lda, B,
              ldb, beta, C, ldc);
}

}  // namespace

namespace {

/** Where the rows of one (batch, head) start and how far apart they are, in either layout. */
struct HeadLayout {
  int64_t base;
  int ld;
};
HeadLayout head(bool seqMajor, int b, int h, int heads, int T, int hs) {
  if (seqMajor) return {(static_cast<int64_t>(b) * T * heads + h) * hs, heads * hs};  // (B, T, heads, hs)
  return {(static_cast<int64_t>(b) * heads + h) * T * hs, hs};                       // (B, heads, T, hs)
}

}  // namespace

void attention_forward(const float* q, const float* k, const float* v, float* o, float* lse, int B, int nh, int nkv,
                       int T, int hs, float scale, bool seqMajor, const float* keyMask) {
  const int rep = nh / nkv;
  const int64_t units = static_cast<int64_t>(B) * nh;
  SerialBlas serial;
#pragma omp parallel num_threads(unit_threads(units))
  {
  FlushDenormals ftz;  // per thread: MXCSR is thread state
  std::vector<float> s(static_cast<size_t>(std::min(kBlock, T)) * T);  // scores, then probabilities (R, n), ld T
#pragma omp for schedule(static)
  for (int64_t unit = 0; unit < units; unit++) {
    const int b = static_cast<int>(unit / nh);
    const int h = static_cast<int>(unit % nh);
    const HeadLayout qh = head(seqMajor, b, h, nh, T, hs);
    const HeadLayout kh = head(seqMajor, b, h / rep, nkv, T, hs);
    const float* Q = q + qh.base;  // (T, hs) with row stride qh.ld
    const float* K = k + kh.base;
    const float* V = v + kh.base;
    float* O = o + qh.base;
    float* L = lse + unit * T;
    const float* M = keyMask == nullptr ? nullptr : keyMask + static_cast<int64_t>(b) * T;  // (T) of batch b
    for (int i0 = 0; i0 < T; i0 += kBlock) {
      const int R = std::min(kBlock, T - i0);
      const int n = i0 + R;  // keys any row of the block sees
      gemm(false, true, R, n, hs, scale, Q + static_cast<int64_t>(i0) * qh.ld, qh.ld, K, kh.ld, 0.0f, s.data(), T);
      for (int r = 0; r < R; r++) {
        float* __restrict sp = s.data() + static_cast<int64_t>(r) * T;
        const int i = i0 + r;  // keys 0..i are visible
        if (M != nullptr) {
          // Padding keys are excluded; a row that sees no real key attends to nothing: p = 0, lse = −inf.
          float mx = -INFINITY;
          for (int j = 0; j <= i; j++) mx = (M[j] != 0.0f && sp[j] > mx) ? sp[j] : mx;
          if (mx == -INFINITY) {
            std::fill(sp, sp + n, 0.0f);
            L[i] = -INFINITY;
            continue;
          }
          float sum = 0.0f;
          for (int j = 0; j <= i; j++) {
            sp[j] = M[j] != 0.0f ? fast_exp(sp[j] - mx) : 0.0f;
            sum += sp[j];
          }
          const float inv = 1.0f / sum;
          for (int j = 0; j <= i; j++) sp[j] *= inv;
          std::fill(sp + i + 1, sp + n, 0.0f);
          L[i] = mx + std::log(sum);
          continue;
        }
        float mx = sp[0];
#pragma omp simd reduction(max : mx)
        for (int j = 1; j <= i; j++) mx = std::max(mx, sp[j]);
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (int j = 0; j <= i; j++) {
          sp[j] = fast_exp(sp[j] - mx);
          sum += sp[j];
        }
        const float inv = 1.0f / sum;
#pragma omp simd
        for (int j = 0; j <= i; j++) sp[j] *= inv;  // p_ij
        std::fill(sp + i + 1, sp + n, 0.0f);         // causal mask
        L[i] = mx + std::log(sum);
      }
      gemm(false, false, R, hs, n, 1.0f, s.data(), T, V, kh.ld, 0.0f, O + static_cast<int64_t>(i0) * qh.ld, qh.ld);
    }
  }
  }
}

void attention_backward(const float* q, const float* k, const float* v, const float* o, const float* lse,
                        const float* dout, float* dq, float* dk, float* dv, int B, int nh, int nkv, int T, int hs,
                        float scale, bool seqMajor, const float* keyMask) {
  const int rep = nh / nkv;
  const int64_t th = static_cast<int64_t>(T) * hs;
  const size_t tile = static_cast<size_t>(std::min(kBlock, T)) * T;
  std::fill(dk, dk + static_cast<int64_t>(B) * nkv * th, 0.0f);  // both layouts: the whole array
  std::fill(dv, dv + static_cast<int64_t>(B) * nkv * th, 0.0f);
  // A thread owns whole (batch, kv head) units: dK and dV of a kv head sum over its rep query heads, in order.
  const int64_t kvUnits = static_cast<int64_t>(B) * nkv;
  SerialBlas serial;
#pragma omp parallel num_threads(unit_threads(kvUnits))
  {
  FlushDenormals ftz;
  std::vector<float> p(tile), ds(tile);  // P and dP → dS of one block (R, n), ld T
#pragma omp for schedule(static)
  for (int64_t kvUnit = 0; kvUnit < kvUnits; kvUnit++) {
  for (int r0 = 0; r0 < rep; r0++) {
    const int b = static_cast<int>(kvUnit / nkv);
    const int h = static_cast<int>(kvUnit % nkv) * rep + r0;
    const int64_t unit = static_cast<int64_t>(b) * nh + h;
    const HeadLayout qh = head(seqMajor, b, h, nh, T, hs);
    const HeadLayout kh = head(seqMajor, b, h / rep, nkv, T, hs);
    const int lq = qh.ld, lk = kh.ld;
    const float* Q = q + qh.base;
    const float* O = o + qh.base;
    const float* dO = dout + qh.base;
    const float* L = lse + unit * T;
    const float* K = k + kh.base;
    const float* M = keyMask == nullptr ? nullptr : keyMask + static_cast<int64_t>(b) * T;
    const float* V = v + kh.base;
    float* dQ = dq + qh.base;
    float* dK = dk + kh.base;  // accumulated over the rep query heads of this kv head (units run in order)
    float* dV = dv + kh.base;
    for (int i0 = 0; i0 < T; i0 += kBlock) {
      const int R = std::min(kBlock, T - i0);
      const int n = i0 + R;
      const float* Qb = Q + static_cast<int64_t>(i0) * lq;
      const float* dOb = dO + static_cast<int64_t>(i0) * lq;
      gemm(false, true, R, n, hs, scale, Qb, lq, K, lk, 0.0f, p.data(), T);   // S = scale · Q Kᵀ
      gemm(false, true, R, n, hs, 1.0f, dOb, lq, V, lk, 0.0f, ds.data(), T);  // dP = dO Vᵀ
      for (int r = 0; r < R; r++) {
        float* __restrict pr = p.data() + static_cast<int64_t>(r) * T;
        float* __restrict dr = ds.data() + static_cast<int64_t>(r) * T;
        const int i = i0 + r;
        float Di = 0.0f;  // D_i = dO_i · O_i = Σ_j P_ij dP_ij
#pragma omp simd reduction(+ : Di)
        for (int c = 0; c < hs; c++) Di += dO[static_cast<int64_t>(i) * lq + c] * O[static_cast<int64_t>(i) * lq + c];
        const float li = L[i];
        if (M != nullptr) {
          // Padding keys have P = 0, so dS = 0; a row with no real key (lse = −inf) has P = 0 throughout.
          for (int j = 0; j <= i; j++) {
            pr[j] = (M[j] != 0.0f && li != -INFINITY) ? fast_exp(pr[j] - li) : 0.0f;
            dr[j] = pr[j] * (dr[j] - Di) * scale;
          }
        } else {
#pragma omp simd
          for (int j = 0; j <= i; j++) {
            pr[j] = fast_exp(pr[j] - li);          // P_ij recomputed
            dr[j] = pr[j] * (dr[j] - Di) * scale;  // dS_ij w.r.t. the unscaled scores
          }
        }
        std::fill(pr + i + 1, pr + n, 0.0f);  // causal mask
        std::fill(dr + i + 1, dr + n, 0.0f);
      }
      gemm(false, false, R, hs, n, 1.0f, ds.data(), T, K, lk, 0.0f, dQ + static_cast<int64_t>(i0) * lq, lq);  // dS K
      gemm(true, false, n, hs, R, 1.0f, ds.data(), T, Qb, lq, 1.0f, dK, lk);  // dK[0:n] += dSᵀ Q
      gemm(true, false, n, hs, R, 1.0f, p.data(), T, dOb, lq, 1.0f, dV, lk);  // dV[0:n] += Pᵀ dO
    }
  }
  }
  }
}

void attention_cached(const float* q, const float* k, const float* v, float* o, int B, int nh, int nkv, int Tq, int Tk,
                      int C, int hs, float scale, const float* keyMask) {
  const int rep = nh / nkv;
  const int lq = nh * hs, lk = nkv * hs;  // row strides: q, o (B, Tq, nh, hs); the caches (B, C, nkv, hs)
  const int64_t units = static_cast<int64_t>(B) * nh;
  SerialBlas serial;
#pragma omp parallel num_threads(unit_threads(units))
  {
  FlushDenormals ftz;
  std::vector<float> s(static_cast<size_t>(std::min(kBlock, Tq)) * Tk);  // scores, then probabilities, ld Tk
#pragma omp for schedule(static)
  for (int64_t unit = 0; unit < units; unit++) {
    const int b = static_cast<int>(unit / nh);
    const int h = static_cast<int>(unit % nh);
    const float* Q = q + (static_cast<int64_t>(b) * Tq * nh + h) * hs;
    float* O = o + (static_cast<int64_t>(b) * Tq * nh + h) * hs;
    const float* K = k + (static_cast<int64_t>(b) * C * nkv + h / rep) * hs;  // keys 0..Tk-1 of the cache
    const float* V = v + (static_cast<int64_t>(b) * C * nkv + h / rep) * hs;
    const float* M = keyMask == nullptr ? nullptr : keyMask + static_cast<int64_t>(b) * Tk;
    for (int i0 = 0; i0 < Tq; i0 += kBlock) {
      const int R = std::min(kBlock, Tq - i0);
      const int n = Tk - Tq + i0 + R;  // keys the block's last row sees
      gemm(false, true, R, n, hs, scale, Q + static_cast<int64_t>(i0) * lq, lq, K, lk, 0.0f, s.data(), Tk);
      for (int r = 0; r < R; r++) {
        float* __restrict sp = s.data() + static_cast<int64_t>(r) * Tk;
        const int last = Tk - Tq + i0 + r;  // keys 0..last are visible
        float mx = -INFINITY;
        for (int j = 0; j <= last; j++) mx = ((M == nullptr || M[j] != 0.0f) && sp[j] > mx) ? sp[j] : mx;
        if (mx == -INFINITY) {  // no real key: the row attends to nothing
          std::fill(sp, sp + n, 0.0f);
          continue;
        }
        float sum = 0.0f;
        for (int j = 0; j <= last; j++) {
          sp[j] = (M == nullptr || M[j] != 0.0f) ? fast_exp(sp[j] - mx) : 0.0f;
          sum += sp[j];
        }
        const float inv = 1.0f / sum;
#pragma omp simd
        for (int j = 0; j <= last; j++) sp[j] *= inv;
        std::fill(sp + last + 1, sp + n, 0.0f);
      }
      gemm(false, false, R, hs, n, 1.0f, s.data(), Tk, V, lk, 0.0f, O + static_cast<int64_t>(i0) * lq, lq);
    }
  }
  }
}

}  // namespace lk
