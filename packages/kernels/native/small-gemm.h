// Matrix products with a narrow side (16-column slices held in vector registers), for the shapes where a BLAS call is
// mostly packing: the LoRA adapter's r-wide products (lora.cc). Row-major, explicit leading dimensions, fp32,
// single-threaded: callers run them from their own threads. (Tried on the attention's per-block products at head size
// 32, QKᵀ and PV with one head's keys: 20-25 % slower than the BLAS there, so attention.cc keeps cblas_sgemm.)
#pragma once
#include <cstdint>
#include <cstring>

namespace lk::small {

constexpr int kLanes = 16;  // columns per slice: one AVX-512 register of fp32 (two AVX2 ones)

/**
 * out (m, 16; row stride ldo) = X (m, K; row stride ldx) · W (K, 16; row stride ldw): 8 rows share each load of W's
 * row, and their 8 sums stay in registers over K.
 */
inline void project(const float* X, int64_t ldx, const float* W, int64_t ldw, float* out, int64_t ldo, int m, int K) {
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
inline void accumulate(const float* X, int64_t ldx, const float* U, int64_t ldu, float* S, int64_t lds, int m, int K) {
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

/** C (m, n; ldc) = X (m, K; ldx) · W (K, n; ldw), n a multiple of 16. */
inline void gemm_nn(const float* X, int64_t ldx, const float* W, int64_t ldw, float* C, int64_t ldc, int m, int K,
                    int n) {
  for (int c = 0; c < n; c += kLanes) project(X, ldx, W + c, ldw, C + c, ldc, m, K);
}

/** C (K, n; ldc) += Xᵀ · U for X (m, K; ldx), U (m, n; ldu), n a multiple of 16. */
inline void gemm_tn_acc(const float* X, int64_t ldx, const float* U, int64_t ldu, float* C, int64_t ldc, int m, int K,
                        int n) {
  for (int c = 0; c < n; c += kLanes) accumulate(X, ldx, U + c, ldu, C + c, ldc, m, K);
}

}  // namespace lk::small
