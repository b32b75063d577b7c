// Linear layer + softmax cross-entropy (the lm_head and its loss) in row chunks, never materialising the (rows, V)
// logits: each chunk's logits live in one reused (chunk, V) buffer that becomes the chunk's dlogits in place. With
// gradients requested, dh and dW are accumulated in the same pass (the loss's gradient needs no upstream value but
// a scale), so the head costs the unfused forward + backward's three products and none of their (rows, V) memory.
// The products follow the matmul precision (sgemm, or bf16 operands with fp32 sums); the softmax and loss stay fp32.

#include <algorithm>
#include <memory>

#include "kernels.h"
#include "platform.h"

namespace lk {

int64_t linear_cross_entropy(const float* h, const float* W, const int32_t* labels, int64_t rows, int d, int V,
                             int32_t ignore, float scale, float* loss, float* dh, float* dW, int64_t chunk) {
  for (int64_t r = 0; r < rows; r++) {
    if (labels[r] != ignore && (labels[r] < 0 || labels[r] >= V)) return -1 - r;
  }
  chunk = std::max<int64_t>(1, std::min(chunk, rows));
  std::unique_ptr<float[]> logits(new float[chunk * V]);
  std::unique_ptr<float[]> lse(new float[chunk]);
  if (dW != nullptr) std::fill(dW, dW + static_cast<int64_t>(V) * d, 0.0f);
  int64_t count = 0;
  for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
    const int64_t R = std::min(chunk, rows - r0);
    const float* hc = h + r0 * d;
    // logits (R, V) = h_c Wᵀ
    matmul(false, true, R, V, d, 1.0f, hc, d, W, d, 0.0f, logits.get(), V);
    if (dh == nullptr && dW == nullptr) {
      count += cross_entropy_forward(logits.get(), labels + r0, loss + r0, lse.get(), R, V, ignore);
      continue;
    }
    // loss, then dlogits = scale · (softmax − onehot) in place, row by row; ignored rows are zero
    count += cross_entropy_forward_backward(logits.get(), labels + r0, loss + r0, scale, R, V, ignore);
    if (dh != nullptr) {  // dh_c (R, d) = dlogits W
      matmul(false, false, R, d, V, 1.0f, logits.get(), V, W, d, 0.0f, dh + r0 * d, d);
    }
    if (dW != nullptr) {  // dW (V, d) += dlogitsᵀ h_c
      matmul(true, false, V, d, R, 1.0f, logits.get(), V, hc, d, 1.0f, dW, d);
    }
  }
  return count;
}

}  // namespace lk
