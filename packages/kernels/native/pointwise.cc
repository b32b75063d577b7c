// Elementwise arithmetic and sum reductions of the native backend: binary ops with numpy broadcasting of one
// operand that is a scalar or repeats along the leading axes (a suffix of the output's shape), unary maths, and sums
// over the leading or trailing axes. Loops are plain so GCC vectorises them; large ones are split across threads.

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels.h"
#include "platform.h"

namespace lk {

namespace {

constexpr int64_t kParallelMin = 1 << 15;  // elements below which one thread does the work

template <typename F>
void parallel_ranges(int64_t n, F&& body) {
#pragma omp parallel num_threads(fused_threads()) if (n >= kParallelMin)
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    body(n * t / nt, n * (t + 1) / nt);
  }
}

template <typename Op>
void binary_same(const float* a, const float* b, float* y, int64_t n, Op op) {
  parallel_ranges(n, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; i++) y[i] = op(a[i], b[i]);
  });
}

/** y[i] = op(a[i], s) (or op(s, a[i]) when scalarFirst). */
template <typename Op>
void binary_scalar(const float* a, float s, float* y, int64_t n, bool scalarFirst, Op op) {
  parallel_ranges(n, [&](int64_t lo, int64_t hi) {
    if (scalarFirst)
      for (int64_t i = lo; i < hi; i++) y[i] = op(s, a[i]);
    else
      for (int64_t i = lo; i < hi; i++) y[i] = op(a[i], s);
  });
}

/** y[r, j] = op(a[r, j], p[j]) (or op(p[j], a[r, j]) when periodicFirst) for a (n / period, period). */
template <typename Op>
void binary_rows(const float* a, const float* p, float* y, int64_t n, int64_t period, bool periodicFirst, Op op) {
  const int64_t rows = n / period;
#pragma omp parallel for num_threads(fused_threads()) if (n >= kParallelMin) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* ar = a + r * period;
    float* yr = y + r * period;
    if (periodicFirst)
      for (int64_t j = 0; j < period; j++) yr[j] = op(p[j], ar[j]);
    else
      for (int64_t j = 0; j < period; j++) yr[j] = op(ar[j], p[j]);
  }
}

template <typename Op>
void binary_dispatch(const float* a, int64_t na, const float* b, int64_t nb, float* y, int64_t n, Op op) {
  if (na == n && nb == n) return binary_same(a, b, y, n, op);
  if (nb == 1) return binary_scalar(a, b[0], y, n, false, op);
  if (na == 1) return binary_scalar(b, a[0], y, n, true, op);
  if (na == n) return binary_rows(a, b, y, n, nb, false, op);
  return binary_rows(b, a, y, n, na, true, op);
}

}  // namespace

void binary(int op, const float* a, int64_t na, const float* b, int64_t nb, float* y, int64_t n) {
  switch (op) {
    case kAdd: return binary_dispatch(a, na, b, nb, y, n, [](float u, float v) { return u + v; });
    case kSub: return binary_dispatch(a, na, b, nb, y, n, [](float u, float v) { return u - v; });
    case kMul: return binary_dispatch(a, na, b, nb, y, n, [](float u, float v) { return u * v; });
    case kDiv: return binary_dispatch(a, na, b, nb, y, n, [](float u, float v) { return u / v; });
    case kMaximum:
      return binary_dispatch(a, na, b, nb, y, n, [](float u, float v) { return (u != u || u > v) ? u : v; });
    case kMinimum:
      return binary_dispatch(a, na, b, nb, y, n, [](float u, float v) { return (u != u || u < v) ? u : v; });
    case kSquaredDifference:
      return binary_dispatch(a, na, b, nb, y, n, [](float u, float v) { return (u - v) * (u - v); });
    default: return;
  }
}

void unary(int op, const float* x, float* y, int64_t n) {
  parallel_ranges(n, [&](int64_t lo, int64_t hi) {
    const float* __restrict xs = x + lo;
    float* __restrict ys = y + lo;
    const int64_t m = hi - lo;
    switch (op) {
      case kNeg: for (int64_t i = 0; i < m; i++) ys[i] = -xs[i]; break;
      case kSquare: for (int64_t i = 0; i < m; i++) ys[i] = xs[i] * xs[i]; break;
      case kSqrt: for (int64_t i = 0; i < m; i++) ys[i] = std::sqrt(xs[i]); break;
      case kRsqrt: for (int64_t i = 0; i < m; i++) ys[i] = 1.0f / std::sqrt(xs[i]); break;
      case kExp: for (int64_t i = 0; i < m; i++) ys[i] = std::exp(xs[i]); break;
      case kAbs: for (int64_t i = 0; i < m; i++) ys[i] = std::fabs(xs[i]); break;
      case kReciprocal: for (int64_t i = 0; i < m; i++) ys[i] = 1.0f / xs[i]; break;
      case kSign:  // tfjs: sign(0) = 0, sign(NaN) = 0
        for (int64_t i = 0; i < m; i++) ys[i] = xs[i] > 0.0f ? 1.0f : (xs[i] < 0.0f ? -1.0f : 0.0f);
        break;
      default: break;
    }
  });
}

void sum_rows(const float* x, int64_t rows, int64_t cols, float* y) {
  if (rows == 1) {
    // one long row: per-thread partial sums in double, combined in a fixed order
    const int nt = cols >= kParallelMin ? fused_threads() : 1;
    std::vector<double> part(static_cast<size_t>(nt), 0.0);
#pragma omp parallel num_threads(nt)
    {
      const int64_t t = omp_get_thread_num(), n = omp_get_num_threads();
      const int64_t lo = cols * t / n, hi = cols * (t + 1) / n;
      float acc = 0.0f;
      double total = 0.0;
      // blocks of 4096 in float (vectorised), accumulated in double
      for (int64_t b = lo; b < hi; b += 4096) {
        const int64_t e = b + 4096 < hi ? b + 4096 : hi;
        acc = 0.0f;
#pragma omp simd reduction(+ : acc)
        for (int64_t i = b; i < e; i++) acc += x[i];
        total += acc;
      }
      part[static_cast<size_t>(t)] = total;
    }
    double s = 0.0;
    for (double p : part) s += p;
    y[0] = static_cast<float>(s);
    return;
  }
#pragma omp parallel for num_threads(fused_threads()) if (rows * cols >= kParallelMin) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
    for (int64_t j = 0; j < cols; j++) acc += xr[j];
    y[r] = acc;
  }
}

void sum_cols(const float* x, int64_t rows, int64_t cols, float* y) {
  // y[j] = Σ_r x[r, j]: each thread sums a block of rows into its own partial, combined in a fixed order
  const int nt = rows * cols >= kParallelMin ? fused_threads() : 1;
  std::vector<float> part(static_cast<size_t>(nt) * cols, 0.0f);
#pragma omp parallel num_threads(nt)
  {
    const int64_t t = omp_get_thread_num(), n = omp_get_num_threads();
    float* __restrict p = part.data() + t * cols;
    for (int64_t r = rows * t / n; r < rows * (t + 1) / n; r++) {
      const float* __restrict xr = x + r * cols;
      for (int64_t j = 0; j < cols; j++) p[j] += xr[j];
    }
  }
  for (int64_t j = 0; j < cols; j++) y[j] = 0.0f;
  for (int t = 0; t < nt; t++)
    for (int64_t j = 0; j < cols; j++) y[j] += part[static_cast<size_t>(t) * cols + j];
}

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
#pragma omp parallel for num_threads(fused_threads()) if (rows * cols >= kParallelMin) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int64_t j = 0; j < cols; j++) mx = std::max(mx, xr[j]);
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < cols; j++) {
      yr[j] = fast_exp(xr[j] - mx);
      sum += yr[j];
    }
    const float inv = 1.0f / sum;
#pragma omp simd
    for (int64_t j = 0; j < cols; j++) yr[j] *= inv;
  }
}

}  // namespace lk
