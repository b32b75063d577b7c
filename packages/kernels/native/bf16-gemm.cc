// bf16 matrix products with fp32 accumulation (the matmuls of mixed-precision training, as PyTorch CPU
// `torch.autocast(dtype=torch.bfloat16)`): C (fp32) = alpha · op(A) · op(B) + beta · C with A and B rounded to
// bfloat16 (round to nearest even, torch's c10::BFloat16 rounding) while they are packed, and the products summed in
// fp32 by AVX-512 BF16's vdpbf16ps (one instruction: 16 lanes, each += a₀b₀ + a₁b₁ over a pair of k).
//
// Blocking (after BLIS, Van Zee & van de Geijn 2015), with k counted in pairs (one 32-bit "dword" = two bf16 of a row):
//   pack all of op(B) once, per block of kc pairs × 64-column panel:  Bp[p][j] = (B[2p][j], B[2p+1][j])  (kc, 64)
//   then, for each work item (96 rows × a block of ≤ 768 columns, handed out dynamically to the threads):
//     for each block of kc pairs:   pack its 96 rows of op(A), Ap[i][p] = (A[i][2p], A[i][2p+1])      (96, kc)
//       for each 6-row panel, for each 64-column panel: the microkernel, 6 × 4 zmm accumulators; per pair p,
//                                   4 loads of B, 6 dword broadcasts of A, 24 vdpbf16ps.
// An A panel (6 × kc dwords, ≤ 12 KiB) stays in L1 across the column panels; the B block of an item (kc × ≤ 768
// dwords, ≤ 512 KiB) in L2 across its row panels. k odd: the last pair's second half is zero on both sides; m, n
// tails: zero-padded panels and masked stores. Compiled for AVX-512 BF16 per function (`target` attribute), so the
// addon builds and loads on any x86-64 CPU; `bf16_supported()` checks the CPU at run time, and without it every entry
// point here runs fp32 sgemm.

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>
#include <memory>

#include "kernels.h"
#include "platform.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define LK_BF16_X86 1
#include <immintrin.h>
#define LK_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))
#endif
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's AVX-512 headers initialise the unused pass-through register of the unpack intrinsics from itself
// (`__m512i __Y = __Y;`), which -Wmaybe-uninitialized reports once they are inlined: a false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace lk {

namespace {

std::atomic<bool> g_matmul_bf16{false};

void sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* A, int lda, const float* B, int ldb,
           float beta, float* C, int ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, A, lda, B,
              ldb, beta, C, ldc);
}

#ifdef LK_BF16_X86

constexpr int kMR = 6;      // rows of a microkernel tile
constexpr int kNV = 4;      // zmm columns of a tile: 4 × 16 = 64 columns
constexpr int kNR = 16 * kNV;
constexpr int kKC = 128;    // least pairs of k per block (256 k); up to 4 × as many when the B block is narrow
constexpr int kNC = 768;    // widest column block of a work item
constexpr int kBlockDwords = 128 * 1024;  // a B block's size (512 KiB, in L2)
constexpr int kChunkPanels = 16;  // A panels (96 rows) per work item

/** 64-byte aligned scratch of n dwords. */
struct Scratch {
  uint32_t* p;
  explicit Scratch(int64_t n) {
    p = static_cast<uint32_t*>(std::aligned_alloc(64, static_cast<size_t>((n * 4 + 63) / 64 * 64)));
    if (p == nullptr) throw std::bad_alloc();
  }
  ~Scratch() { std::free(p); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

/** Lanes [0, n) of a 16-lane mask (n clamped to [0, 16]). */
inline __mmask16 lanes(int n) {
  return n >= 16 ? static_cast<__mmask16>(0xffff) : n <= 0 ? 0 : static_cast<__mmask16>((1u << n) - 1u);
}

/**
 * 16 dwords (bf16 pairs) from `f` ≤ 32 consecutive floats (the rest zero): pair p = (s[2p], s[2p + 1]).
 * vcvtne2ps2bf16 rounds to nearest even like c10::BFloat16; it also flushes denormals, which vdpbf16ps would
 * treat as zero anyway, so the products are those of torch's rounding.
 */
LK_BF16_TARGET inline __m512i pairs_along(const float* s, int f) {
  const __m512 lo = _mm512_maskz_loadu_ps(lanes(f), s);
  const __m512 hi = _mm512_maskz_loadu_ps(lanes(f - 16), s + 16);
  return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);  // bf16 s[0..15] in the low half, s[16..31] in the high half
}

/** 16 dwords (bf16 pairs) from two rows: pair j = (r0[j], r1[j]) for j < n, r1 == nullptr meaning zeros. */
LK_BF16_TARGET inline __m512i pairs_across(const float* r0, const float* r1, int n) {
  const __m512 lo = _mm512_maskz_loadu_ps(lanes(n), r0);
  const __m512 hi = r1 != nullptr ? _mm512_maskz_loadu_ps(lanes(n), r1) : _mm512_setzero_ps();
  const __m512i both = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);  // r0[0..15], then r1[0..15]
  const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22,
                                              6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  return _mm512_permutexvar_epi16(interleave, both);
}

/** In-place transpose of a 16 × 16 matrix of dwords, one row per register (unpack 32, unpack 64, two lane shuffles). */
LK_BF16_TARGET inline void transpose16(__m512i r[16]) {
  __m512i t[16], u[16];
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  // u[4i + j], 128-bit lane L: column 4L + j of rows 4i..4i+3
  for (int i = 0; i < 4; i++) {
    u[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  // column 4L + j = lane L of u[j], u[4 + j], u[8 + j], u[12 + j]
  for (int j = 0; j < 4; j++) {
    const __m512i v0 = _mm512_shuffle_i32x4(u[j], u[4 + j], 0x44), v1 = _mm512_shuffle_i32x4(u[j], u[4 + j], 0xee);
    const __m512i v2 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0x44);
    const __m512i v3 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0xee);
    r[j] = _mm512_shuffle_i32x4(v0, v2, 0x88);
    r[4 + j] = _mm512_shuffle_i32x4(v0, v2, 0xdd);
    r[8 + j] = _mm512_shuffle_i32x4(v1, v3, 0x88);
    r[12 + j] = _mm512_shuffle_i32x4(v1, v3, 0xdd);
  }
}

/**
 * Rows [i0, i0 + rows) of op(A), pairs [p0, p0 + kc), into Ap (rows, kc) dwords; rows past m are zero.
 * Not transposed, a row's pairs are adjacent floats: converted 32 floats at a time. Transposed (A stored (k, m)), a
 * pair comes from two stored rows: 16 × 16 tiles are converted across the stored rows, then transposed in registers.
 */
LK_BF16_TARGET void pack_a(const float* A, int lda, bool ta, int m, int k, int i0, int rows, int p0, int kc,
                           uint32_t* Ap) {
  const int k0 = 2 * p0;
  if (!ta) {
    for (int i = 0; i < rows; i++) {
      uint32_t* d = Ap + static_cast<int64_t>(i) * kc;
      if (i0 + i >= m) {
        std::fill(d, d + kc, 0u);
        continue;
      }
      const float* s = A + static_cast<int64_t>(i0 + i) * lda + k0;
      for (int p = 0; p < kc; p += 16) {
        const int np = std::min(16, kc - p);
        const int f = std::min(2 * np, k - k0 - 2 * p);
        _mm512_mask_storeu_epi32(d + p, lanes(np), pairs_along(s + 2 * p, f));
      }
    }
    return;
  }
  for (int ib = 0; ib < rows; ib += 16) {
    const int nr = std::min(16, rows - ib);
    const int ni = std::max(0, std::min(nr, m - i0 - ib));  // rows inside m
    for (int pb = 0; pb < kc; pb += 16) {
      const int np = std::min(16, kc - pb);
      __m512i r[16];  // r[p]: pair p of the 16 rows i
      for (int p = 0; p < 16; p++) {
        const int kk = k0 + 2 * (pb + p);
        const float* r0 = A + static_cast<int64_t>(kk) * lda + i0 + ib;
        r[p] = p < np && ni > 0 ? pairs_across(r0, kk + 1 < k ? r0 + lda : nullptr, ni) : _mm512_setzero_si512();
      }
      transpose16(r);  // r[i]: the 16 pairs of row i
      for (int i = 0; i < nr; i++) {
        _mm512_mask_storeu_epi32(Ap + static_cast<int64_t>(ib + i) * kc + pb, lanes(np), r[i]);
      }
    }
  }
}

/**
 * Columns [j0, j0 + kNR) of op(B), pairs [p0, p0 + kc), into one panel Bp (kc, kNR) dwords; columns past n are zero.
 * Not transposed, a pair is the same column of two adjacent rows (16 columns at a time); transposed (B stored
 * (n, k)), a pair is two adjacent floats of one stored row (converted along the row, then written down the panel).
 */
LK_BF16_TARGET void pack_b(const float* B, int ldb, bool tb, int n, int k, int j0, int p0, int kc, uint32_t* Bp) {
  const int nj = std::min(kNR, n - j0);
  if (!tb) {
    for (int p = 0; p < kc; p++) {
      const int kk = 2 * (p0 + p);
      const float* r0 = B + static_cast<int64_t>(kk) * ldb + j0;
      const float* r1 = kk + 1 < k ? r0 + ldb : nullptr;
      uint32_t* d = Bp + static_cast<int64_t>(p) * kNR;
      for (int j = 0; j < kNR; j += 16) {
        _mm512_store_si512(d + j, j < nj ? pairs_across(r0 + j, r1 != nullptr ? r1 + j : nullptr, nj - j)
                                         : _mm512_setzero_si512());
      }
    }
    return;
  }
  alignas(64) uint32_t t[16];
  for (int j = 0; j < kNR; j++) {
    if (j >= nj) {
      for (int p = 0; p < kc; p++) Bp[static_cast<int64_t>(p) * kNR + j] = 0u;
      continue;
    }
    const float* s = B + static_cast<int64_t>(j0 + j) * ldb + 2 * p0;
    for (int pb = 0; pb < kc; pb += 16) {
      const int np = std::min(16, kc - pb);
      _mm512_store_si512(t, pairs_along(s + 2 * pb, std::min(2 * np, k - 2 * (p0 + pb))));
      for (int p = 0; p < np; p++) Bp[static_cast<int64_t>(pb + p) * kNR + j] = t[p];
    }
  }
}

/**
 * One tile: C[0:mr, 0:nr] = alpha · Σ_p Ap[i][p] · Bp[p][j] + (first ? beta · C : C), NV zmm columns (16·NV ≥ nr).
 * Ap: kMR rows of kc dwords (ldA = kc); Bp: kc rows of kNR dwords. The 6·NV accumulators live in registers.
 */
template <int NV>
LK_BF16_TARGET void micro(int kc, const uint32_t* Ap, const uint32_t* Bp, float* C, int64_t ldc, int mr, int nr,
                          float alpha, float beta, bool first) {
  __m512 acc[kMR][NV];
#pragma GCC unroll 8
  for (int i = 0; i < kMR; i++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps();
  const uint32_t* a0 = Ap;
  for (int p = 0; p < kc; p++) {
    __m512bh b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) b[v] = (__m512bh)_mm512_load_si512(Bp + static_cast<int64_t>(p) * kNR + 16 * v);
#pragma GCC unroll 8
    for (int i = 0; i < kMR; i++) {
      const __m512bh a = (__m512bh)_mm512_set1_epi32(static_cast<int>(a0[static_cast<int64_t>(i) * kc + p]));
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) acc[i][v] = _mm512_dpbf16_ps(acc[i][v], a, b[v]);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (int i = 0; i < mr; i++) {
    float* c = C + static_cast<int64_t>(i) * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
      const int cols = nr - 16 * v;
      if (cols <= 0) break;
      const __mmask16 mk = cols >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << cols) - 1u);
      __m512 r = _mm512_mul_ps(va, acc[i][v]);
      if (!first) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(mk, c + 16 * v));
      else if (beta != 0.0f) r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mk, c + 16 * v), r);
      _mm512_mask_storeu_ps(c + 16 * v, mk, r);
    }
  }
}

LK_BF16_TARGET void tile(int kc, const uint32_t* Ap, const uint32_t* Bp, float* C, int64_t ldc, int mr, int nr,
                         float alpha, float beta, bool first) {
  switch ((nr + 15) / 16) {
    case 1: return micro<1>(kc, Ap, Bp, C, ldc, mr, nr, alpha, beta, first);
    case 2: return micro<2>(kc, Ap, Bp, C, ldc, mr, nr, alpha, beta, first);
    case 3: return micro<3>(kc, Ap, Bp, C, ldc, mr, nr, alpha, beta, first);
    default: return micro<4>(kc, Ap, Bp, C, ldc, mr, nr, alpha, beta, first);
  }
}

/**
 * One product on `threads` threads (1: no parallel region, e.g. inside another kernel's). All of op(B) is packed
 * first (k blocks × 64-column panels, shared; the one barrier); then work items (a chunk of 96 rows × a block of
 * columns, all of k) are handed out dynamically, each packing its own 96 rows of A per k block: disjoint parts of C,
 * so no barrier, and a thread that the OS deschedules holds up one item, not every block. Blocks of k are as long as
 * a B block of ≤ 512 KiB allows (128 to 512 pairs): fewer passes over C.
 */
LK_BF16_TARGET void gemm_bf16(bool ta, bool tb, int m, int n, int k, float alpha, const float* A, int lda,
                              const float* B, int ldb, float beta, float* C, int ldc, int threads) {
  const int kp = (k + 1) / 2;                // pairs of k
  const int mp = (m + kMR - 1) / kMR;        // A panels
  const int npAll = (n + kNR - 1) / kNR;     // B panels
  const int chunks = (mp + kChunkPanels - 1) / kChunkPanels;
  // Columns per item: kNC, or narrower when there are too few row chunks to keep every thread busy.
  const int wide = chunks >= 2 * threads ? npAll : npAll * chunks / (2 * threads);
  const int colPanels = std::max(1, std::min(kNC / kNR, wide));
  const int colBlocks = (npAll + colPanels - 1) / colPanels;
  const int kcMax = std::min(kp, std::clamp(kBlockDwords / (colPanels * kNR), kKC, 4 * kKC));
  const int kBlocks = (kp + kcMax - 1) / kcMax;
  Scratch bp(static_cast<int64_t>(kp) * npAll * kNR);
  // Panel jr of k block kb: kc(kb) × 64 dwords at kb · kcMax · npAll · 64 + jr · kc(kb) · 64.
  auto bpanel = [&](int kb, int jr) {
    const int kc = std::min(kcMax, kp - kb * kcMax);
    return bp.p + static_cast<int64_t>(kb) * kcMax * npAll * kNR + static_cast<int64_t>(jr) * kc * kNR;
  };
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    FlushDenormals ftz;  // vdpbf16ps flushes denormals itself; this keeps the fp32 epilogue as fast
#pragma omp for schedule(dynamic)
    for (int t = 0; t < kBlocks * npAll; t++) {
      const int kb = t / npAll, jr = t % npAll;
      pack_b(B, ldb, tb, n, k, jr * kNR, kb * kcMax, std::min(kcMax, kp - kb * kcMax), bpanel(kb, jr));
    }
    Scratch ap(static_cast<int64_t>(kChunkPanels) * kMR * kcMax);  // this thread's A rows of one item
#pragma omp for schedule(dynamic) nowait
    for (int item = 0; item < chunks * colBlocks; item++) {
      const int chunk = item / colBlocks, cb = item % colBlocks;
      const int ir0 = chunk * kChunkPanels, ir1 = std::min(mp, ir0 + kChunkPanels);
      const int jr0 = cb * colPanels, jr1 = std::min(npAll, jr0 + colPanels);
      for (int kb = 0; kb < kBlocks; kb++) {
        const int p0 = kb * kcMax, kc = std::min(kcMax, kp - p0);
        pack_a(A, lda, ta, m, k, ir0 * kMR, (ir1 - ir0) * kMR, p0, kc, ap.p);  // whole 16-row tiles when transposed
        for (int ir = ir0; ir < ir1; ir++) {
          const int i0 = ir * kMR;
          const uint32_t* apanel = ap.p + static_cast<int64_t>(ir - ir0) * kMR * kc;
          for (int jr = jr0; jr < jr1; jr++) {
            const int c0 = jr * kNR;
            tile(kc, apanel, bpanel(kb, jr), C + static_cast<int64_t>(i0) * ldc + c0, ldc, std::min(kMR, m - i0),
                 std::min(kNR, n - c0), alpha, beta, kb == 0);
          }
        }
      }
    }
  }
}

#endif  // LK_BF16_X86

/** Products below this many multiply-adds run on one thread (the parallel region costs more than it saves). */
constexpr int64_t kParallelMin = int64_t{1} << 18;

int product_threads(int64_t m, int64_t n, int64_t k) {
  if (omp_in_parallel() || m * n * k < kParallelMin) return 1;
  return fused_threads();
}

}  // namespace

bool bf16_supported() {
#ifdef LK_BF16_X86
  static const bool ok = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512bf16");
  }();
  return ok;
#else
  return false;
#endif
}

void set_matmul_bf16(bool on) { g_matmul_bf16.store(on && bf16_supported()); }
bool matmul_bf16() { return g_matmul_bf16.load(std::memory_order_relaxed); }

void bf16_gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* A, int lda, const float* B, int ldb,
               float beta, float* C, int ldc) {
  if (m <= 0 || n <= 0) return;
#ifdef LK_BF16_X86
  if (bf16_supported() && k > 0) {
    gemm_bf16(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, product_threads(m, n, k));
    return;
  }
#endif
  sgemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

void bf16_gemm_batched(const float* A, const float* B, float* C, int batch, const int32_t* aIdx, const int32_t* bIdx,
                       int m, int n, int k, bool transA, bool transB, float alpha, float beta) {
  const int lda = transA ? m : k;
  const int ldb = transB ? k : n;
  const int64_t strideA = static_cast<int64_t>(m) * k;
  const int64_t strideB = static_cast<int64_t>(k) * n;
  const int64_t strideC = static_cast<int64_t>(m) * n;
  // Many small products (attention scores per head): the batch in parallel, each product on one thread.
  const bool across = batch > 1 && !omp_in_parallel() && static_cast<int64_t>(m) * n * k < kParallelMin * 4;
#pragma omp parallel for num_threads(fused_threads()) if (across) schedule(static)
  for (int i = 0; i < batch; i++) {
    bf16_gemm(transA, transB, m, n, k, alpha, A + aIdx[i] * strideA, lda, B + bIdx[i] * strideB, ldb, beta,
              C + i * strideC, n);
  }
}

void matmul(bool ta, bool tb, int m, int n, int k, float alpha, const float* A, int lda, const float* B, int ldb,
            float beta, float* C, int ldc) {
  if (matmul_bf16()) bf16_gemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
  else sgemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace lk
