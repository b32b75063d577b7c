// Optimizer updates applied in place on parameter and state buffers (no temporaries).

#include "kernels.h"
#include "platform.h"

namespace lk {

static constexpr int64_t kParallelMin = 1 << 15;

void adamw_update(float* p, float* m, float* v, const float* g, int64_t n, float lr, float beta1, float beta2,
                  float eps, float weightDecay, int step) {
  // PyTorch AdamW: p ← p·(1 − lr·λ); m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
  // p ← p − (lr / (1−β₁ᵗ))·m / (sqrt(v / (1−β₂ᵗ)) + ε)
  const double bc1 = 1.0 - std::pow(static_cast<double>(beta1), step);
  const double bc2 = 1.0 - std::pow(static_cast<double>(beta2), step);
  const float stepSize = static_cast<float>(lr / bc1);
  const float invSqrtBc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  const float decay = 1.0f - lr * weightDecay;
#pragma omp parallel for simd num_threads(fused_threads()) if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; i++) {
    const float gi = g[i];
    const float mi = beta1 * m[i] + (1.0f - beta1) * gi;
    const float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * decay - stepSize * mi / (std::sqrt(vi) * invSqrtBc2 + eps);
  }
}

void lion_update(float* p, float* m, const float* g, int64_t n, float lr, float beta1, float beta2, float weightDecay) {
  // Lion: c = β₁m + (1−β₁)g; p ← p·(1 − lr·λ) − lr·sign(c); m ← β₂m + (1−β₂)g
  const float decay = 1.0f - lr * weightDecay;
#pragma omp parallel for simd num_threads(fused_threads()) if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; i++) {
    const float gi = g[i];
    const float c = beta1 * m[i] + (1.0f - beta1) * gi;
    const float sgn = c > 0.0f ? 1.0f : (c < 0.0f ? -1.0f : 0.0f);
    p[i] = p[i] * decay - lr * sgn;
    m[i] = beta2 * m[i] + (1.0f - beta2) * gi;
  }
}

}  // namespace lk
