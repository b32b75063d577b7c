// Causal self-attention forward and backward without the (T, T) score matrix: each query row keeps its own
// scores (length ≤ T) and log-sum-exp; the backward pass recomputes probabilities from the saved lse, as in
// FlashAttention-2 (Dao 2023, arXiv 2307.08691, Alg. 2), row-blocked instead of tiled for small head sizes.
#include <omp.h>

#include <algorithm>
#include <vector>

#include "kernels.h"

namespace lk {

static inline float dot(const float* a, const float* b, int n) {
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (int i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

static inline void axpy(float alpha, const float* x, float* y, int n) {
#pragma omp simd
  for (int i = 0; i < n; i++) y[i] += alpha * x[i];
}

void attention_forward(const float* q, const float* k, const float* v, float* o, float* lse, int B, int nh, int nkv,
                       int T, int hs, float scale) {
  const int rep = nh / nkv;
  const int64_t units = static_cast<int64_t>(B) * nh;
#pragma omp parallel num_threads(fused_threads())
  {
    std::vector<float> s(static_cast<size_t>(T));  // scores of one query row, s_j = scale·q_i·k_j, j ≤ i
#pragma omp for schedule(dynamic, 1)
    for (int64_t unit = 0; unit < units; unit++) {
      const int b = static_cast<int>(unit / nh);
      const int h = static_cast<int>(unit % nh);
      const int64_t kvBase = (static_cast<int64_t>(b) * nkv + h / rep) * T * hs;
      const float* Q = q + unit * T * hs;  // (T, hs)
      const float* K = k + kvBase;         // (T, hs)
      const float* V = v + kvBase;         // (T, hs)
      float* O = o + unit * T * hs;
      float* L = lse + unit * T;
      for (int i = 0; i < T; i++) {
        const float* qi = Q + static_cast<int64_t>(i) * hs;
        float mx = -INFINITY;
        for (int j = 0; j <= i; j++) {
          s[j] = scale * dot(qi, K + static_cast<int64_t>(j) * hs, hs);
          mx = std::max(mx, s[j]);
        }
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (int j = 0; j <= i; j++) {
          s[j] = fast_exp(s[j] - mx);
          sum += s[j];
        }
        float* oi = O + static_cast<int64_t>(i) * hs;
        std::fill(oi, oi + hs, 0.0f);
        const float inv = 1.0f / sum;
        for (int j = 0; j <= i; j++) axpy(s[j] * inv, V + static_cast<int64_t>(j) * hs, oi, hs);  // o_i = Σ p_ij v_j
        L[i] = mx + std::log(sum);
      }
    }
  }
}

void attention_backward(const float* q, const float* k, const float* v, const float* o, const float* lse,
                        const float* dout, float* dq, float* dk, float* dv, int B, int nh, int nkv, int T, int hs,
                        float scale) {
  const int rep = nh / nkv;
  const int64_t groups = static_cast<int64_t>(B) * nkv;  // dk, dv of one kv head are written by one thread only
#pragma omp parallel num_threads(fused_threads())
  {
    std::vector<float> p(static_cast<size_t>(T));
#pragma omp for schedule(dynamic, 1)
    for (int64_t g = 0; g < groups; g++) {
      const int b = static_cast<int>(g / nkv);
      const int64_t kvBase = g * T * hs;
      const float* K = k + kvBase;
      const float* V = v + kvBase;
      float* dK = dk + kvBase;
      float* dV = dv + kvBase;
      std::fill(dK, dK + static_cast<int64_t>(T) * hs, 0.0f);
      std::fill(dV, dV + static_cast<int64_t>(T) * hs, 0.0f);
      for (int r = 0; r < rep; r++) {
        const int64_t unit = static_cast<int64_t>(b) * nh + (g % nkv) * rep + r;
        const float* Q = q + unit * T * hs;
        const float* O = o + unit * T * hs;
        const float* dO = dout + unit * T * hs;
        const float* L = lse + unit * T;
        float* dQ = dq + unit * T * hs;
        for (int i = 0; i < T; i++) {
          const float* qi = Q + static_cast<int64_t>(i) * hs;
          const float* doi = dO + static_cast<int64_t>(i) * hs;
          float* dqi = dQ + static_cast<int64_t>(i) * hs;
          const float Di = dot(doi, O + static_cast<int64_t>(i) * hs, hs);  // D_i = dO_i·O_i = Σ_j P_ij dP_ij
          std::fill(dqi, dqi + hs, 0.0f);
          for (int j = 0; j <= i; j++) {
            const float* kj = K + static_cast<int64_t>(j) * hs;
            const float* vj = V + static_cast<int64_t>(j) * hs;
            const float pij = fast_exp(scale * dot(qi, kj, hs) - L[i]);  // P_ij recomputed
            const float dpij = dot(doi, vj, hs);                         // dP_ij = dO_i·v_j
            const float dsij = pij * (dpij - Di) * scale;                // dS_ij, with the scale of S folded in
            axpy(pij, doi, dV + static_cast<int64_t>(j) * hs, hs);       // dV_j += P_ij dO_i
            axpy(dsij, kj, dqi, hs);                                     // dQ_i += dS_ij k_j
            axpy(dsij, qi, dK + static_cast<int64_t>(j) * hs, hs);       // dK_j += dS_ij q_i
          }
        }
      }
    }
  }
}

}  // namespace lk
