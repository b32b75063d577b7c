// Batched float32 matrix products on the system BLAS (cblas_sgemm), with broadcast batch indices; in bf16 (bf16-gemm.cc)
// when the matmul precision is bf16.

#include "kernels.h"
#include "platform.h"

namespace lk {

void sgemm_batched(const float* A, const float* B, float* C, int batch, const int32_t* aIdx, const int32_t* bIdx,
                   int m, int n, int k, bool transA, bool transB, float alpha, float beta) {
  // Row-major: op(A) (m, k) has leading dimension k, or m when stored transposed as (k, m); likewise B.
  if (matmul_bf16()) {
    bf16_gemm_batched(A, B, C, batch, aIdx, bIdx, m, n, k, transA, transB, alpha, beta);
    return;
  }
  const int lda = transA ? m : k;
  const int ldb = transB ? k : n;
  const int64_t strideA = static_cast<int64_t>(m) * k;
  const int64_t strideB = static_cast<int64_t>(k) * n;
  const int64_t strideC = static_cast<int64_t>(m) * n;
  for (int i = 0; i < batch; i++) {
    // OpenBLAS threads each product itself once m·n·k is large enough; small batched products run serially.
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k, alpha,
                A + aIdx[i] * strideA, lda, B + bIdx[i] * strideB, ldb, beta, C + i * strideC, n);
  }
}

}  // namespace lk
