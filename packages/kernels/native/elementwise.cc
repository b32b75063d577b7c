// Row-wise and elementwise kernels of the Llama block: RMSNorm, SwiGLU and rotary embeddings, forward and backward.

#include <vector>

#include "kernels.h"
#include "platform.h"

namespace lk {

static int g_threads = 0;  // 0: OpenMP default (all cores)

int fused_threads() { return g_threads > 0 ? g_threads : omp_get_max_threads(); }
void set_fused_threads(int n) { g_threads = n; }

// Elementwise loops below this many elements run on one thread: waking the pool costs more than it saves.
static constexpr int64_t kParallelMin = 1 << 15;

void rmsnorm_forward(const float* x, const float* w, float* y, float* rstd, int64_t rows, int d, float eps) {
#pragma omp parallel for num_threads(fused_threads()) if (rows * d >= kParallelMin) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * d;
    float* yr = y + r * d;
    float ss = 0.0f;
#pragma omp simd reduction(+ : ss)
    for (int j = 0; j < d; j++) ss += xr[j] * xr[j];
    const float s = 1.0f / std::sqrt(ss / static_cast<float>(d) + eps);
    rstd[r] = s;
#pragma omp simd
    for (int j = 0; j < d; j++) yr[j] = xr[j] * s * w[j];
  }
}

void rmsnorm_backward(const float* dy, const float* x, const float* w, const float* rstd, float* dx, float* dw,
                      int64_t rows, int d) {
  const int nt = rows * d >= kParallelMin ? fused_threads() : 1;
  // dw is a sum over rows: one partial per thread, reduced at the end in a fixed order (deterministic).
  std::vector<float> partial(static_cast<size_t>(nt) * d, 0.0f);
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num();
    float* pw = partial.data() + static_cast<size_t>(t) * d;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      const float* xr = x + r * d;
      const float* gr = dy + r * d;
      float* dxr = dx + r * d;
      const float s = rstd[r];
      float dot = 0.0f;  // Σ_j (dy_j·w_j)·x_j
#pragma omp simd reduction(+ : dot)
      for (int j = 0; j < d; j++) dot += gr[j] * w[j] * xr[j];
      const float c = dot * s * s * s / static_cast<float>(d);
#pragma omp simd
      for (int j = 0; j < d; j++) {
        dxr[j] = s * gr[j] * w[j] - c * xr[j];
        pw[j] += gr[j] * xr[j] * s;
      }
    }
  }
  for (int j = 0; j < d; j++) dw[j] = 0.0f;
  for (int t = 0; t < nt; t++)
    for (int j = 0; j < d; j++) dw[j] += partial[static_cast<size_t>(t) * d + j];
}

// Elementwise loops: each thread takes one contiguous range and runs a plain loop over it, which GCC vectorises
// (a `parallel for simd` over the outlined OpenMP body was left scalar).
template <typename F>
static void parallel_ranges(int64_t n, F&& body) {
#pragma omp parallel num_threads(fused_threads()) if (n >= kParallelMin)
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    body(n * t / nt, n * (t + 1) / nt);
  }
}

static void swiglu_forward_range(const float* __restrict g, const float* __restrict u, float* __restrict y,
                                 int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float sig = 1.0f / (1.0f + fast_exp(-g[i]));
    y[i] = g[i] * sig * u[i];
  }
}

static void swiglu_backward_range(const float* __restrict dy, const float* __restrict g, const float* __restrict u,
                                  float* __restrict dg, float* __restrict du, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float sig = 1.0f / (1.0f + fast_exp(-g[i]));
    du[i] = dy[i] * g[i] * sig;
    dg[i] = dy[i] * u[i] * sig * (1.0f + g[i] * (1.0f - sig));
  }
}

void swiglu_forward(const float* g, const float* u, float* y, int64_t n) {
  parallel_ranges(n, [&](int64_t lo, int64_t hi) { swiglu_forward_range(g + lo, u + lo, y + lo, hi - lo); });
}

void swiglu_backward(const float* dy, const float* g, const float* u, float* dg, float* du, int64_t n) {
  parallel_ranges(n, [&](int64_t lo, int64_t hi) {
    swiglu_backward_range(dy + lo, g + lo, u + lo, dg + lo, du + lo, hi - lo);
  });
}

void add(const float* a, const float* b, float* y, int64_t n) {
  parallel_ranges(n, [&](int64_t lo, int64_t hi) {
    const float* __restrict pa = a + lo;
    const float* __restrict pb = b + lo;
    float* __restrict py = y + lo;
    for (int64_t i = 0; i < hi - lo; i++) py[i] = pa[i] + pb[i];
  });
}

void rope_apply(const float* x, const float* cos, const float* sin, float* y, int B, int H, int T, int hd, int Bc,
                bool inverse, bool seqMajor) {
  const int half = hd / 2;
  const int64_t rows = static_cast<int64_t>(B) * H * T;
#pragma omp parallel for num_threads(fused_threads()) if (rows * hd >= kParallelMin) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    // row r is (b, h, t) of (B, H, T), or (b, t, h) of (B, T, H) when seqMajor
    const int t = static_cast<int>(seqMajor ? (r / H) % T : r % T);
    const int b = static_cast<int>(r / (static_cast<int64_t>(H) * T));
    const int64_t tab = (static_cast<int64_t>(Bc == 1 ? 0 : b) * T + t) * hd;  // (Bc, 1, T, hd)
    const float* c = cos + tab;
    const float* s = sin + tab;
    const float* xr = x + r * hd;
    float* yr = y + r * hd;
    if (!inverse) {
      // y₁ = x₁·c₁ − x₂·s₁, y₂ = x₂·c₂ + x₁·s₂ (HF tables repeat the angles over both halves).
#pragma omp simd
      for (int j = 0; j < half; j++) {
        const float x1 = xr[j];
        const float x2 = xr[j + half];
        yr[j] = x1 * c[j] - x2 * s[j];
        yr[j + half] = x2 * c[j + half] + x1 * s[j + half];
      }
    } else {
      // Transpose of the map above (the gradient): dx₁ = dy₁·c₁ + dy₂·s₂, dx₂ = dy₂·c₂ − dy₁·s₁.
#pragma omp simd
      for (int j = 0; j < half; j++) {
        const float x1 = xr[j];
        const float x2 = xr[j + half];
        yr[j] = x1 * c[j] + x2 * s[j + half];
        yr[j + half] = x2 * c[j + half] - x1 * s[j];
      }
    }
  }
}

// Dropout: one 32-bit hash per element index, keyed by a 64-bit seed (lowbias32, C. Wellons' integer hash, twice with
// the seed's halves), so the mask of an element depends on (seed, index) only: the same in the backward pass, on any
// number of threads, and without a stored mask.
static inline uint32_t lowbias32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

static void dropout_range(const float* __restrict x, float* __restrict y, int64_t lo, int64_t n, float rate,
                          uint32_t s0, uint32_t s1) {
  const float scale = 1.0f / (1.0f - rate);
  for (int64_t i = 0; i < n; i++) {
    const uint64_t index = static_cast<uint64_t>(lo + i);
    const uint32_t h = lowbias32(lowbias32(static_cast<uint32_t>(index) ^ s0) ^ s1 ^ static_cast<uint32_t>(index >> 32));
    const float u = static_cast<float>(h >> 8) * 0x1p-24f;  // uniform on [0, 1) in steps of 2⁻²⁴
    y[i] = u >= rate ? x[i] * scale : 0.0f;
  }
}

void dropout(const float* x, float* y, int64_t n, float rate, uint64_t seed) {
  const uint32_t s0 = lowbias32(static_cast<uint32_t>(seed) ^ 0x9e3779b9U);
  const uint32_t s1 = lowbias32(static_cast<uint32_t>(seed >> 32) ^ 0x85ebca6bU);
  parallel_ranges(n, [&](int64_t lo, int64_t hi) { dropout_range(x + lo, y + lo, lo, hi - lo, rate, s0, s1); });
}

}  // namespace lk
