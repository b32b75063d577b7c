// The adapter's products of a LoRA linear's backward pass, fused: t = x Aᵀ, u = dy B, dA = s · uᵀ x, dB = s · dyᵀ t.
// Each is r wide (r = 16 in the paper's regime), and as four BLAS calls they run at 30-70 GFLOP/s here: a 16-wide
// operand is nearly all packing, and every call streams a whole (N, in) or (N, out) matrix from memory. Here one pass
// walks row blocks of x and dy once: per block, t and u are (rows, rp) with rp = r rounded up to 16 (so a row is whole
// vector registers), and dA, dB accumulate into per-thread (in, rp) and (out, rp) sums that the block's rows, still in
// cache, feed. The sums over blocks are per thread, added in thread order at the end: deterministic for a fixed
// thread count.

#include <algorithm>
#include <vector>

#include "kernels.h"
#include "platform.h"

namespace lk {
namespace {

constexpr int kBlockRows = 128;  // x and dy rows per block: (128 · (in + out) · 4) bytes stay in L2
constexpr int kLanes = 16;       // columns per pass of the kernels below: one AVX-512 register of fp32

/**
 * out (m, 16; row stride ldo) = X (m, K; row stride ldx) · W (K, 16; row stride ldw): 8 rows share each load of W's
 * row, and their 8 sums stay in registers over K.
 */
void project(const float* X, int64_t ldx, const float* W, int64_t ldw, float* out, int64_t ldo, int m, int K) {
  constexpr int kRows = 8;
  int i = 0;
  for (; i + kRows <= m; i += kRows) {
    float acc[kRows][kLanes] = {};
    for (int k = 0; k < K; k++) {
      const float* w = W + k * ldw;
#pragma GCC unroll 8
      for (int q = 0; q < kRows; q++) {
        const float xv = X[(i + q) * ldx + k];
#pragma omp simd
        for (int j = 0; j < kLanes; j++) acc[q][j] += xv * w[j];
      }
    }
    for (int q = 0; q < kRows; q++) std::memcpy(out + (i + q) * ldo, acc[q], sizeof(acc[q]));
  }
  for (; i < m; i++) {
    float acc[kLanes] = {};
    for (int k = 0; k < K; k++) {
      const float xv = X[i * ldx + k];
      const float* w = W + k * ldw;
#pragma omp simd
      for (int j = 0; j < kLanes; j++) acc[j] += xv * w[j];
    }
    std::memcpy(out + i * ldo, acc, sizeof(acc));
  }
}

/**
 * S (K, 16; row stride lds) += Xᵀ · U for X (m, K; row stride ldx), U (m, 16; row stride ldu): 8 rows of S stay in
 * registers over the m rows.
 */
void accumulate(const float* X, int64_t ldx, const float* U, int64_t ldu, float* S, int64_t lds, int m, int K) {
  constexpr int kRows = 8;
  int k = 0;
  for (; k + kRows <= K; k += kRows) {
    float acc[kRows][kLanes];
    for (int q = 0; q < kRows; q++) std::memcpy(acc[q], S + (k + q) * lds, sizeof(acc[q]));
    for (int i = 0; i < m; i++) {
      const float* u = U + i * ldu;
      const float* x = X + i * ldx + k;
#pragma GCC unroll 8
      for (int q = 0; q < kRows; q++) {
        const float xv = x[q];
#pragma omp simd
        for (int j = 0; j < kLanes; j++) acc[q][j] += xv * u[j];
      }
    }
    for (int q = 0; q < kRows; q++) std::memcpy(S + (k + q) * lds, acc[q], sizeof(acc[q]));
  }
  for (; k < K; k++) {
    float* s = S + k * lds;
    for (int i = 0; i < m; i++) {
      const float xv = X[i * ldx + k];
      const float* u = U + i * ldu;
#pragma omp simd
      for (int j = 0; j < kLanes; j++) s[j] += xv * u[j];
    }
  }
}

}  // namespace

void lora_adapter_grad(const float* x, const float* dy, const float* A, const float* B, const float* t, float* u,
                       float* dA, float* dB, int64_t n, int in, int out, int r, float s) {
  const int rp = (r + kLanes - 1) / kLanes * kLanes;  // r rounded up to whole registers
  // Aᵀ (in, rp) and B (out, rp), zero-padded: the padding lanes of t and u stay 0 and add nothing.
  std::vector<float> at(static_cast<size_t>(in) * rp, 0.0f), bp(static_cast<size_t>(out) * rp, 0.0f);
  for (int j = 0; j < r; j++)
    for (int k = 0; k < in; k++) at[static_cast<size_t>(k) * rp + j] = A[static_cast<int64_t>(j) * in + k];
  for (int o = 0; o < out; o++)
    for (int j = 0; j < r; j++) bp[static_cast<size_t>(o) * rp + j] = B[static_cast<int64_t>(o) * r + j];
  const int64_t blocks = (n + kBlockRows - 1) / kBlockRows;
  const int threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(fused_threads(), blocks)));
  const size_t perThread = static_cast<size_t>(in + out) * rp;
  std::vector<float> sums(perThread * threads, 0.0f);  // per thread: dAᵀ (in, rp), then dB (out, rp)
#pragma omp parallel num_threads(threads)
  {
    FlushDenormals ftz;
    std::vector<float> tb(static_cast<size_t>(kBlockRows) * rp, 0.0f), ub(static_cast<size_t>(kBlockRows) * rp);
    float* sumA = sums.data() + perThread * omp_get_thread_num();
    float* sumB = sumA + static_cast<size_t>(in) * rp;
#pragma omp for schedule(static)
    for (int64_t b = 0; b < blocks; b++) {
      const int64_t i0 = b * kBlockRows;
      const int m = static_cast<int>(std::min<int64_t>(kBlockRows, n - i0));
      const float* xb = x + i0 * in;
      const float* gb = dy + i0 * out;
      if (t != nullptr)  // the padding lanes of tb stay 0 from its allocation
        for (int i = 0; i < m; i++) std::memcpy(&tb[static_cast<size_t>(i) * rp], t + (i0 + i) * r, sizeof(float) * r);
      for (int c = 0; c < rp; c += kLanes) {
        if (t == nullptr) project(xb, in, &at[c], rp, &tb[c], rp, m, in);  // t = x Aᵀ
        project(gb, out, &bp[c], rp, &ub[c], rp, m, out);                  // u = dy B
        accumulate(xb, in, &ub[c], rp, sumA + c, rp, m, in);               // dAᵀ += xᵀ u
        accumulate(gb, out, &tb[c], rp, sumB + c, rp, m, out);             // dB += dyᵀ t
      }
      if (u != nullptr)
        for (int i = 0; i < m; i++) std::memcpy(u + (i0 + i) * r, &ub[static_cast<size_t>(i) * rp], sizeof(float) * r);
    }
  }
  // Thread order, then scaling by s.
  for (int j = 0; j < r; j++)
    for (int k = 0; k < in; k++) {
      float v = 0.0f;
      for (int q = 0; q < threads; q++) v += sums[perThread * q + static_cast<size_t>(k) * rp + j];
      dA[static_cast<int64_t>(j) * in + k] = s * v;
    }
  for (int o = 0; o < out; o++)
    for (int j = 0; j < r; j++) {
      float v = 0.0f;
      for (int q = 0; q < threads; q++) v += sums[perThread * q + static_cast<size_t>(in + o) * rp + j];
      dB[static_cast<int64_t>(o) * r + j] = s * v;
    }
}

}  // namespace lk
