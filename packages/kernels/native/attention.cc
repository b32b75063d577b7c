// Causal self-attention forward and backward without the (T, T) score matrix: each query row keeps its own
// scores (length ≤ T) and log-sum-exp; the backward pass recomputes probabilities from the saved lse, as in
// FlashAttention-2 (Dao 2023, arXiv 2307.08691, Alg. 2), one query row at a time.
// K and V of the current head are kept transposed, (hs, T), in a per-thread buffer, so every inner loop runs over
// key positions j with unit stride (vectorised), instead of a short dot product over hs per key.
#include <omp.h>

#include <algorithm>
#include <vector>

#include "kernels.h"

namespace lk {

/** dst (hs, T) = srcᵀ for src (T, hs). */
static void transpose_to(const float* src, float* dst, int T, int hs) {
  for (int j = 0; j < T; j++)
    for (int c = 0; c < hs; c++) dst[static_cast<int64_t>(c) * T + j] = src[static_cast<int64_t>(j) * hs + c];
}

void attention_forward(const float* q, const float* k, const float* v, float* o, float* lse, int B, int nh, int nkv,
                       int T, int hs, float scale) {
  const int rep = nh / nkv;
  const int64_t units = static_cast<int64_t>(B) * nh;
#pragma omp parallel num_threads(fused_threads())
  {
    std::vector<float> s(static_cast<size_t>(T));                  // scores of one query row, j ≤ i
    std::vector<float> kt(static_cast<size_t>(T) * hs);            // Kᵀ (hs, T)
#pragma omp for schedule(dynamic, 1)
    for (int64_t unit = 0; unit < units; unit++) {
      const int b = static_cast<int>(unit / nh);
      const int h = static_cast<int>(unit % nh);
      const int64_t kvBase = (static_cast<int64_t>(b) * nkv + h / rep) * T * hs;
      const float* Q = q + unit * T * hs;  // (T, hs)
      const float* V = v + kvBase;         // (T, hs)
      float* O = o + unit * T * hs;
      float* L = lse + unit * T;
      transpose_to(k + kvBase, kt.data(), T, hs);
      float* __restrict sp = s.data();
      for (int i = 0; i < T; i++) {
        const float* qi = Q + static_cast<int64_t>(i) * hs;
        const int n = i + 1;
        std::fill(sp, sp + n, 0.0f);
        for (int c = 0; c < hs; c++) {  // s_j = scale · Σ_c q_ic k_jc
          const float qc = scale * qi[c];
          const float* __restrict kc = kt.data() + static_cast<int64_t>(c) * T;
          for (int j = 0; j < n; j++) sp[j] += qc * kc[j];
        }
        float mx = sp[0];
        for (int j = 1; j < n; j++) mx = sp[j] > mx ? sp[j] : mx;
        float sum = 0.0f;
        for (int j = 0; j < n; j++) {
          sp[j] = fast_exp(sp[j] - mx);
          sum += sp[j];
        }
        float* __restrict oi = O + static_cast<int64_t>(i) * hs;
        std::fill(oi, oi + hs, 0.0f);
        const float inv = 1.0f / sum;
        for (int j = 0; j < n; j++) {  // o_i = Σ_j p_ij v_j
          const float pj = sp[j] * inv;
          const float* __restrict vj = V + static_cast<int64_t>(j) * hs;
          for (int c = 0; c < hs; c++) oi[c] += pj * vj[c];
        }
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
  const int64_t th = static_cast<int64_t>(T) * hs;
#pragma omp parallel num_threads(fused_threads())
  {
    std::vector<float> p(static_cast<size_t>(T)), ds(static_cast<size_t>(T));
    std::vector<float> kt(th), vt(th), dkt(th), dvt(th);  // Kᵀ, Vᵀ and the accumulators dKᵀ, dVᵀ, all (hs, T)
#pragma omp for schedule(dynamic, 1)
    for (int64_t g = 0; g < groups; g++) {
      const int b = static_cast<int>(g / nkv);
      const int64_t kvBase = g * th;
      transpose_to(k + kvBase, kt.data(), T, hs);
      transpose_to(v + kvBase, vt.data(), T, hs);
      std::fill(dkt.begin(), dkt.end(), 0.0f);
      std::fill(dvt.begin(), dvt.end(), 0.0f);
      float* __restrict pp = p.data();
      float* __restrict dsp = ds.data();
      for (int r = 0; r < rep; r++) {
        const int64_t unit = static_cast<int64_t>(b) * nh + (g % nkv) * rep + r;
        const float* Q = q + unit * th;
        const float* O = o + unit * th;
        const float* dO = dout + unit * th;
        const float* L = lse + unit * T;
        float* dQ = dq + unit * th;
        for (int i = 0; i < T; i++) {
          const float* qi = Q + static_cast<int64_t>(i) * hs;
          const float* doi = dO + static_cast<int64_t>(i) * hs;
          const float* oi = O + static_cast<int64_t>(i) * hs;
          const int n = i + 1;
          float Di = 0.0f;  // D_i = dO_i·O_i = Σ_j P_ij dP_ij
          for (int c = 0; c < hs; c++) Di += doi[c] * oi[c];
          // P_ij = exp(scale·q_i·k_j − lse_i) and dP_ij = dO_i·v_j, vectorised over j
          std::fill(pp, pp + n, 0.0f);
          std::fill(dsp, dsp + n, 0.0f);
          for (int c = 0; c < hs; c++) {
            const float qc = scale * qi[c];
            const float dc = doi[c];
            const float* __restrict kc = kt.data() + static_cast<int64_t>(c) * T;
            const float* __restrict vc = vt.data() + static_cast<int64_t>(c) * T;
            for (int j = 0; j < n; j++) {
              pp[j] += qc * kc[j];
              dsp[j] += dc * vc[j];
            }
          }
          const float li = L[i];
          for (int j = 0; j < n; j++) {
            pp[j] = fast_exp(pp[j] - li);
            dsp[j] = pp[j] * (dsp[j] - Di) * scale;  // dS_ij with the scale of S folded in
          }
          float* __restrict dqi = dQ + static_cast<int64_t>(i) * hs;
          for (int c = 0; c < hs; c++) {
            const float* __restrict kc = kt.data() + static_cast<int64_t>(c) * T;
            float* __restrict dkc = dkt.data() + static_cast<int64_t>(c) * T;
            float* __restrict dvc = dvt.data() + static_cast<int64_t>(c) * T;
            const float qc = qi[c];
            const float dc = doi[c];
            float acc = 0.0f;
            for (int j = 0; j < n; j++) {
              acc += dsp[j] * kc[j];   // dQ_ic = Σ_j dS_ij k_jc
              dkc[j] += dsp[j] * qc;   // dK_jc += dS_ij q_ic
              dvc[j] += pp[j] * dc;    // dV_jc += P_ij dO_ic
            }
            dqi[c] = acc;
          }
        }
      }
      transpose_to(dkt.data(), dk + kvBase, hs, T);  // (hs, T) → (T, hs)
      transpose_to(dvt.data(), dv + kvBase, hs, T);
    }
  }
}

}  // namespace lk
