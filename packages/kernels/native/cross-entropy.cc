// Softmax cross-entropy over the vocabulary with an ignore index (PyTorch `F.cross_entropy(ignore_index=-100)`),
// never materialising the probabilities: the backward pass recomputes them from the saved log-sum-exp.

#include <algorithm>

#include "kernels.h"
#include "platform.h"

namespace lk {

namespace {

/** −1 − r for the first row r whose label is neither the ignore index nor in [0, V); 0 when every label is valid. */
int64_t first_bad_label(const int32_t* labels, int64_t rows, int V, int32_t ignore) {
  for (int64_t r = 0; r < rows; r++) {
    if (labels[r] != ignore && (labels[r] < 0 || labels[r] >= V)) return -1 - r;
  }
  return 0;
}

/** log Σ_j exp(x_j) of one row, as m + log Σ exp(x − m) with m the row's max. */
float row_log_sum_exp(const float* x, int V) {
  float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
  for (int j = 0; j < V; j++) mx = std::max(mx, x[j]);
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int j = 0; j < V; j++) sum += fast_exp(x[j] - mx);
  return mx + std::log(sum);
}

}  // namespace

int64_t cross_entropy_forward(const float* logits, const int32_t* labels, float* loss, float* lse, int64_t rows, int V,
                              int32_t ignore) {
  if (const int64_t bad = first_bad_label(labels, rows, V, ignore)) return bad;
  int64_t count = 0;
#pragma omp parallel for num_threads(fused_threads()) reduction(+ : count) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* x = logits + r * V;
    lse[r] = row_log_sum_exp(x, V);
    if (labels[r] == ignore) {
      loss[r] = 0.0f;
    } else {
      loss[r] = lse[r] - x[labels[r]];
      count++;
    }
  }
  return count;
}

void cross_entropy_backward(const float* logits, const int32_t* labels, const float* lse, const float* scale,
                            float* dlogits, int64_t rows, int V, int32_t ignore) {
#pragma omp parallel for num_threads(fused_threads()) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    float* d = dlogits + r * V;
    if (labels[r] == ignore) {
      std::fill(d, d + V, 0.0f);
      continue;
    }
    const float* x = logits + r * V;
    const float l = lse[r];
    const float s = scale[r];
#pragma omp simd
    for (int j = 0; j < V; j++) d[j] = s * fast_exp(x[j] - l);  // s·softmax_j
    d[labels[r]] -= s;
  }
}

int64_t cross_entropy_forward_backward(float* logits, const int32_t* labels, float* loss, float scale, int64_t rows,
                                       int V, int32_t ignore) {
  if (const int64_t bad = first_bad_label(labels, rows, V, ignore)) return bad;
  int64_t count = 0;
#pragma omp parallel for num_threads(fused_threads()) reduction(+ : count) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    float* x = logits + r * V;  // one row (V floats) stays in cache through its three passes
    if (labels[r] == ignore) {
      loss[r] = 0.0f;
      std::fill(x, x + V, 0.0f);
      continue;
    }
    const float l = row_log_sum_exp(x, V);
    loss[r] = l - x[labels[r]];
    count++;
#pragma omp simd
    for (int j = 0; j < V; j++) x[j] = scale * fast_exp(x[j] - l);  // scale·softmax_j
    x[labels[r]] -= scale;
  }
  return count;
}

}  // namespace lk
