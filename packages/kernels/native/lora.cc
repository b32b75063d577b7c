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
#include "small-gemm.h"

namespace lk {
namespace {

constexpr int kBlockRows = 128;  // x and dy rows per block: (128 · (in + out) · 4) bytes stay in L2
using small::kLanes;

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
      if (t == nullptr) {
        small::gemm_nn(xb, in, at.data(), rp, tb.data(), rp, m, in, rp);  // t = x Aᵀ
      } else {  // the forward pass's t; the padding lanes of tb stay 0 from its allocation
        for (int i = 0; i < m; i++) std::memcpy(&tb[static_cast<size_t>(i) * rp], t + (i0 + i) * r, sizeof(float) * r);
      }
      small::gemm_nn(gb, out, bp.data(), rp, ub.data(), rp, m, out, rp);  // u = dy B
      small::gemm_tn_acc(xb, in, ub.data(), rp, sumA, rp, m, in, rp);     // dAᵀ += xᵀ u
      small::gemm_tn_acc(gb, out, tb.data(), rp, sumB, rp, m, out, rp);   // dB += dyᵀ t
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
