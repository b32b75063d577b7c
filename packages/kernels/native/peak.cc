// The machine's fp32 peak as this compiler and CPU reach it: every fused-kernel thread runs independent chains of
// vector fused multiply-adds with no memory traffic, so the rate is the cores' FMA throughput at their current clock
// (the reference the benchmark divides matrix-product rates by).

#include <chrono>

#include "kernels.h"
#include "platform.h"

namespace lk {

namespace {
typedef float v16 __attribute__((vector_size(64)));  // one AVX-512 register, or two AVX2 ones
constexpr int kChains = 12;                           // enough independent FMAs to cover the pipeline latency
}  // namespace

double fma_peak_gflops(int64_t iterations) {
  const int threads = fused_threads();
  volatile float sink = 0.0f;
  const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads)
  {
    v16 acc[kChains];
    const float seed = 1e-3f * static_cast<float>(omp_get_thread_num() + 1);
    for (int c = 0; c < kChains; c++) acc[c] = v16{} + seed * static_cast<float>(c + 1);
    const v16 a = v16{} + 0.999999f, b = v16{} + 1e-7f;
    for (int64_t i = 0; i < iterations; i++) {
      for (int c = 0; c < kChains; c++) acc[c] = acc[c] * a + b;  // contracted to one FMA
    }
    float s = 0.0f;
    for (int c = 0; c < kChains; c++)
      for (int j = 0; j < 16; j++) s += acc[c][j];
#pragma omp atomic
    sink += s;
  }
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  (void)sink;
  return 2.0 * 16 * kChains * static_cast<double>(iterations) * threads / dt / 1e9;
}

}  // namespace lk
