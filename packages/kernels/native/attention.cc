// Causal self-attention forward and backward without the (T, T) score matrix: scores exist for at most 4 query rows
// at a time (per thread), with each row's log-sum-exp kept for the backward pass, which recomputes the probabilities
// as in FlashAttention-2 (Dao 2023, arXiv 2307.08691, Alg. 2).
// Layout tricks: K and V of the current head are held transposed, (hs, Tp) with Tp = T rounded up to 16 and zero
// padding, so scores are computed 4 rows × 16 keys at a time in registers (one load of K per 4 FMAs), and the
// dK/dV accumulators are likewise transposed and updated 4 query rows at a time.
#include <omp.h>

#include <algorithm>
#include <vector>

#include "kernels.h"

namespace lk {

namespace {

constexpr int kRows = 4;   // query rows per block
constexpr int kCols = 16;  // keys per register block (one AVX-512 vector)

/** dst (hs, Tp) = srcᵀ for src (T, hs); the padding columns [T, Tp) are zero. */
void transpose_in(const float* src, float* dst, int T, int Tp, int hs) {
  for (int c = 0; c < hs; c++) std::fill(dst + static_cast<int64_t>(c) * Tp + T, dst + static_cast<int64_t>(c + 1) * Tp, 0.0f);
  for (int j = 0; j < T; j++)
    for (int c = 0; c < hs; c++) dst[static_cast<int64_t>(c) * Tp + j] = src[static_cast<int64_t>(j) * hs + c];
}

/** dst (T, hs) = srcᵀ for src (hs, Tp) (padding ignored). */
void transpose_out(const float* src, float* dst, int T, int Tp, int hs) {
  for (int j = 0; j < T; j++)
    for (int c = 0; c < hs; c++) dst[static_cast<int64_t>(j) * hs + c] = src[static_cast<int64_t>(c) * Tp + j];
}

/**
 * out[r][j] = Σ_c a[r][c] · bt[c][j] for r < kRows and j < nb·kCols: a (kRows, hs) row-major, bt (hs, Tp),
 * out (kRows, Tp). Each 4 × 16 block is accumulated in registers.
 */
void rows_times_bt(const float* a, const float* bt, float* out, int nb, int Tp, int hs) {
  for (int jb = 0; jb < nb; jb++) {
    float acc[kRows][kCols] = {};
    for (int c = 0; c < hs; c++) {
      const float* b = bt + static_cast<int64_t>(c) * Tp + jb * kCols;
      for (int r = 0; r < kRows; r++) {
        const float av = a[r * hs + c];
        for (int jj = 0; jj < kCols; jj++) acc[r][jj] += av * b[jj];
      }
    }
    for (int r = 0; r < kRows; r++) std::copy(acc[r], acc[r] + kCols, out + static_cast<int64_t>(r) * Tp + jb * kCols);
  }
}

}  // namespace

void attention_forward(const float* q, const float* k, const float* v, float* o, float* lse, int B, int nh, int nkv,
                       int T, int hs, float scale) {
  const int rep = nh / nkv;
  const int Tp = (T + kCols - 1) / kCols * kCols;
  const int64_t units = static_cast<int64_t>(B) * nh;
#pragma omp parallel num_threads(fused_threads())
  {
    std::vector<float> s(static_cast<size_t>(kRows) * Tp);   // scores, then probabilities, of a row block (kRows, Tp)
    std::vector<float> kt(static_cast<size_t>(hs) * Tp);     // Kᵀ (hs, Tp)
    std::vector<float> vt(static_cast<size_t>(hs) * Tp);     // Vᵀ (hs, Tp)
    std::vector<float> qb(static_cast<size_t>(kRows) * hs);  // scale · q rows of the block
#pragma omp for schedule(dynamic, 1)
    for (int64_t unit = 0; unit < units; unit++) {
      const int b = static_cast<int>(unit / nh);
      const int h = static_cast<int>(unit % nh);
      const int64_t kvBase = (static_cast<int64_t>(b) * nkv + h / rep) * T * hs;
      const float* Q = q + unit * T * hs;  // (T, hs)
      float* O = o + unit * T * hs;
      float* L = lse + unit * T;
      transpose_in(k + kvBase, kt.data(), T, Tp, hs);
      transpose_in(v + kvBase, vt.data(), T, Tp, hs);
      for (int i0 = 0; i0 < T; i0 += kRows) {
        const int R = std::min(kRows, T - i0);
        for (int r = 0; r < kRows; r++)
          for (int c = 0; c < hs; c++) qb[r * hs + c] = r < R ? scale * Q[static_cast<int64_t>(i0 + r) * hs + c] : 0.0f;
        const int n = i0 + R;  // keys any row of the block sees
        const int nb = (n + kCols - 1) / kCols;
        rows_times_bt(qb.data(), kt.data(), s.data(), nb, Tp, hs);  // s_rj = scale·q_r·k_j
        for (int r = 0; r < kRows; r++) {
          float* __restrict sp = s.data() + static_cast<int64_t>(r) * Tp;
          const int i = i0 + r;
          if (r >= R) {
            std::fill(sp, sp + nb * kCols, 0.0f);
            continue;
          }
          float mx = sp[0];
          for (int j = 1; j <= i; j++) mx = sp[j] > mx ? sp[j] : mx;
          float sum = 0.0f;
          for (int j = 0; j <= i; j++) {
            sp[j] = fast_exp(sp[j] - mx);
            sum += sp[j];
          }
          const float inv = 1.0f / sum;
          for (int j = 0; j <= i; j++) sp[j] *= inv;          // p_ij
          std::fill(sp + i + 1, sp + nb * kCols, 0.0f);       // causal mask (and padding)
          L[i] = mx + std::log(sum);
        }
        // o_rc = Σ_j p_rj v_jc: 4 rows share each load of Vᵀ
        const float* p0 = s.data();
        const float* p1 = p0 + Tp;
        const float* p2 = p1 + Tp;
        const float* p3 = p2 + Tp;
        for (int c = 0; c < hs; c++) {
          const float* __restrict vc = vt.data() + static_cast<int64_t>(c) * Tp;
          float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
#pragma omp simd reduction(+ : a0, a1, a2, a3)
          for (int j = 0; j < n; j++) {
            a0 += p0[j] * vc[j];
            a1 += p1[j] * vc[j];
            a2 += p2[j] * vc[j];
            a3 += p3[j] * vc[j];
          }
          const float a[kRows] = {a0, a1, a2, a3};
          for (int r = 0; r < R; r++) O[static_cast<int64_t>(i0 + r) * hs + c] = a[r];
        }
      }
    }
  }
}

void attention_backward(const float* q, const float* k, const float* v, const float* o, const float* lse,
                        const float* dout, float* dq, float* dk, float* dv, int B, int nh, int nkv, int T, int hs,
                        float scale) {
  const int rep = nh / nkv;
  const int Tp = (T + kCols - 1) / kCols * kCols;
  const int64_t groups = static_cast<int64_t>(B) * nkv;  // dk, dv of one kv head are written by one thread only
  const int64_t th = static_cast<int64_t>(T) * hs;
  const int64_t tph = static_cast<int64_t>(Tp) * hs;
#pragma omp parallel num_threads(fused_threads())
  {
    std::vector<float> p(static_cast<size_t>(kRows) * Tp), ds(static_cast<size_t>(kRows) * Tp);
    std::vector<float> kt(tph), vt(tph), dkt(tph), dvt(tph);  // Kᵀ, Vᵀ, dKᵀ, dVᵀ: (hs, Tp)
    std::vector<float> qb(static_cast<size_t>(kRows) * hs), db(static_cast<size_t>(kRows) * hs);
#pragma omp for schedule(dynamic, 1)
    for (int64_t g = 0; g < groups; g++) {
      const int b = static_cast<int>(g / nkv);
      const int64_t kvBase = g * th;
      transpose_in(k + kvBase, kt.data(), T, Tp, hs);
      transpose_in(v + kvBase, vt.data(), T, Tp, hs);
      std::fill(dkt.begin(), dkt.end(), 0.0f);
      std::fill(dvt.begin(), dvt.end(), 0.0f);
      for (int rr = 0; rr < rep; rr++) {
        const int64_t unit = static_cast<int64_t>(b) * nh + (g % nkv) * rep + rr;
        const float* Q = q + unit * th;
        const float* O = o + unit * th;
        const float* dO = dout + unit * th;
        const float* L = lse + unit * T;
        float* dQ = dq + unit * th;
        for (int i0 = 0; i0 < T; i0 += kRows) {
          const int R = std::min(kRows, T - i0);
          const int n = i0 + R;
          const int nb = (n + kCols - 1) / kCols;
          for (int r = 0; r < kRows; r++) {
            for (int c = 0; c < hs; c++) {
              const int64_t at = static_cast<int64_t>(i0 + r) * hs + c;
              qb[r * hs + c] = r < R ? Q[at] : 0.0f;
              db[r * hs + c] = r < R ? dO[at] : 0.0f;
            }
          }
          rows_times_bt(qb.data(), kt.data(), p.data(), nb, Tp, hs);   // q_r·k_j
          rows_times_bt(db.data(), vt.data(), ds.data(), nb, Tp, hs);  // dP_rj = dO_r·v_j
          for (int r = 0; r < kRows; r++) {
            float* __restrict pr = p.data() + static_cast<int64_t>(r) * Tp;
            float* __restrict dr = ds.data() + static_cast<int64_t>(r) * Tp;
            const int i = i0 + r;
            if (r >= R) {  // padding row: contributes nothing
              std::fill(pr, pr + nb * kCols, 0.0f);
              std::fill(dr, dr + nb * kCols, 0.0f);
              continue;
            }
            float Di = 0.0f;  // D_i = dO_i·O_i = Σ_j P_ij dP_ij
            for (int c = 0; c < hs; c++) Di += dO[static_cast<int64_t>(i) * hs + c] * O[static_cast<int64_t>(i) * hs + c];
            const float li = L[i];
            for (int j = 0; j <= i; j++) {
              pr[j] = fast_exp(scale * pr[j] - li);     // P_ij recomputed
              dr[j] = pr[j] * (dr[j] - Di) * scale;     // dS_ij with the scale of S folded in
            }
            std::fill(pr + i + 1, pr + nb * kCols, 0.0f);  // causal mask (and padding)
            std::fill(dr + i + 1, dr + nb * kCols, 0.0f);
          }
          const float* p0 = p.data();
          const float* p1 = p0 + Tp;
          const float* p2 = p1 + Tp;
          const float* p3 = p2 + Tp;
          const float* s0 = ds.data();
          const float* s1 = s0 + Tp;
          const float* s2 = s1 + Tp;
          const float* s3 = s2 + Tp;
          for (int c = 0; c < hs; c++) {
            const float* __restrict kc = kt.data() + static_cast<int64_t>(c) * Tp;
            float* __restrict dkc = dkt.data() + static_cast<int64_t>(c) * Tp;
            float* __restrict dvc = dvt.data() + static_cast<int64_t>(c) * Tp;
            const float q0 = qb[c], q1 = qb[hs + c], q2 = qb[2 * hs + c], q3 = qb[3 * hs + c];
            const float d0 = db[c], d1 = db[hs + c], d2 = db[2 * hs + c], d3 = db[3 * hs + c];
            float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
#pragma omp simd reduction(+ : a0, a1, a2, a3)
            for (int j = 0; j < n; j++) {
              const float kj = kc[j];
              a0 += s0[j] * kj;  // dQ_rc = Σ_j dS_rj k_jc
              a1 += s1[j] * kj;
              a2 += s2[j] * kj;
              a3 += s3[j] * kj;
              dkc[j] += q0 * s0[j] + q1 * s1[j] + q2 * s2[j] + q3 * s3[j];  // dK_jc += Σ_r dS_rj q_rc
              dvc[j] += d0 * p0[j] + d1 * p1[j] + d2 * p2[j] + d3 * p3[j];  // dV_jc += Σ_r P_rj dO_rc
            }
            const float a[kRows] = {a0, a1, a2, a3};
            for (int r = 0; r < R; r++) dQ[static_cast<int64_t>(i0 + r) * hs + c] = a[r];
          }
        }
      }
      transpose_out(dkt.data(), dk + kvBase, T, Tp, hs);
      transpose_out(dvt.data(), dv + kvBase, T, Tp, hs);
    }
  }
}

}  // namespace lk
