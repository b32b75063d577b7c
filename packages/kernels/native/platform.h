// What differs between the platforms the addon builds on, in one place:
// - BLAS: OpenBLAS (Linux; `cblas.h` plus its thread and build queries) or Apple's Accelerate (macOS; `cblas_sgemm`
//   from the framework, which manages its own threads and has no such queries: they report 0 / "Accelerate").
// - OpenMP: the fused kernels' threads. Without it (Apple's clang has no -fopenmp) the pragmas are ignored and the
//   few runtime calls below answer as a single thread, so every kernel runs serially but correctly.
// - Denormal flushing: the x86 MXCSR bits; elsewhere (arm64) a no-op.
#pragma once

#if defined(__APPLE__)
#include <Accelerate/Accelerate.h>
namespace lk::blas {
inline const char* name() { return "Accelerate"; }
inline const char* config() { return "Apple Accelerate"; }
inline int get_threads() { return 0; }
inline void set_threads(int) {}
inline int num_procs() { return 0; }
inline int parallel() { return 0; }
}  // namespace lk::blas
#else
#include <cblas.h>
namespace lk::blas {
inline const char* name() { return openblas_get_corename(); }
inline const char* config() { return openblas_get_config(); }
inline int get_threads() { return openblas_get_num_threads(); }
inline void set_threads(int n) { openblas_set_num_threads(n); }
inline int num_procs() { return openblas_get_num_procs(); }
inline int parallel() { return openblas_get_parallel(); }  // 0 sequential, 1 pthreads, 2 OpenMP
}  // namespace lk::blas
#endif

#ifdef _OPENMP
#include <omp.h>
#else
inline int omp_get_thread_num() { return 0; }
inline int omp_get_num_threads() { return 1; }
inline int omp_get_max_threads() { return 1; }
inline int omp_in_parallel() { return 0; }
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
namespace lk {
/** Denormals flushed to zero while alive (exp of very negative scores underflows gradually otherwise: slow). */
struct FlushDenormals {
  unsigned int saved = _mm_getcsr();
  FlushDenormals() { _mm_setcsr(saved | 0x8040); }  // FTZ | DAZ
  ~FlushDenormals() { _mm_setcsr(saved); }
};
}  // namespace lk
#else
namespace lk {
struct FlushDenormals {};
}  // namespace lk
#endif
