// N-API glue (node-addon-api): checks argument types and buffer lengths, then calls the raw kernels on the
// TypedArrays' own memory (zero copy). Every output buffer is allocated by the caller in JavaScript.
#include <napi.h>

#include <string>
#include <vector>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "kernels.h"
#include "platform.h"

namespace lk {
Napi::Value Dgesdd(const Napi::CallbackInfo& info);     // svd.cc
Napi::Value HasLapack(const Napi::CallbackInfo& info);  // svd.cc
}  // namespace lk

namespace {

int64_t Int(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + ": expected a number");
  const double v = info[i].As<Napi::Number>().DoubleValue();
  if (v < 0 || v != static_cast<double>(static_cast<int64_t>(v)))
    throw Napi::RangeError::New(info.Env(), "argument " + std::to_string(i) + ": expected a non-negative integer");
  return static_cast<int64_t>(v);
}

float Float(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + ": expected a number");
  return info[i].As<Napi::Number>().FloatValue();
}

bool Bool(const Napi::CallbackInfo& info, size_t i) { return info[i].ToBoolean().Value(); }

template <typename T, napi_typedarray_type kType>
T* Array(const Napi::CallbackInfo& info, size_t i, int64_t minLength, const char* what) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != kType)
    throw Napi::TypeError::New(info.Env(), std::string(what) + ": expected a " +
                                               (kType == napi_float32_array ? "Float32Array" : "Int32Array"));
  auto a = info[i].As<Napi::TypedArrayOf<T>>();
  if (static_cast<int64_t>(a.ElementLength()) < minLength)
    throw Napi::RangeError::New(info.Env(), std::string(what) + ": expected at least " + std::to_string(minLength) +
                                                " elements, found " + std::to_string(a.ElementLength()));
  return a.Data();
}

float* F32(const Napi::CallbackInfo& info, size_t i, int64_t n, const char* what) {
  return Array<float, napi_float32_array>(info, i, n, what);
}
int32_t* I32(const Napi::CallbackInfo& info, size_t i, int64_t n, const char* what) {
  return Array<int32_t, napi_int32_array>(info, i, n, what);
}
/** A Float32Array argument that may be absent, undefined or null (then nullptr). */
const float* OptionalF32(const Napi::CallbackInfo& info, size_t i, int64_t n, const char* what) {
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return nullptr;
  return F32(info, i, n, what);
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("corename", lk::blas::name());
  o.Set("config", lk::blas::config());
  o.Set("blasThreads", lk::blas::get_threads());
  o.Set("numProcs", lk::blas::num_procs());
  o.Set("parallel", lk::blas::parallel());  // 0 sequential, 1 pthreads, 2 OpenMP
  o.Set("fusedThreads", lk::fused_threads());
  o.Set("bf16Supported", lk::bf16_supported());
  o.Set("matmulPrecision", lk::matmul_bf16() ? "bf16" : "fp32");
  return o;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  const int blas = static_cast<int>(Int(info, 0));
  const int fused = static_cast<int>(Int(info, 1));
  if (blas > 0) lk::blas::set_threads(blas);
  lk::set_fused_threads(fused);
  return info.Env().Undefined();
}

// sgemm(a, b, c, batch, aIdx, bIdx, m, n, k, transA, transB[, alpha = 1, beta = 0]): C = alpha·op(A)op(B) + beta·C,
// in the matmul precision (fp32, or bf16 after setMatmulPrecision(true)); bf16gemm: the same contract, always bf16
// operands (fp32 sgemm where the CPU lacks AVX-512 BF16).
template <bool kBf16>
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  const int64_t batch = Int(info, 3), m = Int(info, 6), n = Int(info, 7), k = Int(info, 8);
  const int32_t* aIdx = I32(info, 4, batch, "aIdx");
  const int32_t* bIdx = I32(info, 5, batch, "bIdx");
  int64_t batchA = 0, batchB = 0;
  for (int64_t i = 0; i < batch; i++) {
    batchA = std::max<int64_t>(batchA, aIdx[i] + 1);
    batchB = std::max<int64_t>(batchB, bIdx[i] + 1);
    if (aIdx[i] < 0 || bIdx[i] < 0) throw Napi::RangeError::New(info.Env(), "negative batch index");
  }
  const float* a = F32(info, 0, batchA * m * k, "a");
  const float* b = F32(info, 1, batchB * k * n, "b");
  float* c = F32(info, 2, batch * m * n, "c");
  const auto gemm = kBf16 ? lk::bf16_gemm_batched : lk::sgemm_batched;
  gemm(a, b, c, static_cast<int>(batch), aIdx, bIdx, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
       Bool(info, 9), Bool(info, 10), info.Length() > 11 ? Float(info, 11) : 1.0f,
       info.Length() > 12 ? Float(info, 12) : 0.0f);
  return info.Env().Undefined();
}

Napi::Value Bf16Supported(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), lk::bf16_supported()); }

// setMatmulPrecision(bf16: boolean) -> whether the products now run in bf16 (false where the CPU lacks AVX-512 BF16)
Napi::Value SetMatmulPrecision(const Napi::CallbackInfo& info) {
  lk::set_matmul_bf16(Bool(info, 0));
  return Napi::Boolean::New(info.Env(), lk::matmul_bf16());
}

// transpose(x, y, shape: Int32Array, perm: Int32Array): x, y Float32Array views (int32 data is viewed as float bits)
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  const auto shapeArr = info[2].As<Napi::Int32Array>();
  const int rank = static_cast<int>(shapeArr.ElementLength());
  const int32_t* perm = I32(info, 3, rank, "perm");
  std::vector<int64_t> shape(rank);
  std::vector<int> p(rank);
  std::vector<bool> seen(rank, false);
  int64_t total = 1;
  for (int i = 0; i < rank; i++) {
    shape[i] = shapeArr[i];
    if (shape[i] < 0 || perm[i] < 0 || perm[i] >= rank || seen[perm[i]])
      throw Napi::RangeError::New(info.Env(), "transpose: invalid shape or permutation");
    seen[perm[i]] = true;
    p[i] = perm[i];
    total *= shape[i];
  }
  const float* x = F32(info, 0, total, "x");
  float* y = F32(info, 1, total, "y");
  lk::transpose4(reinterpret_cast<const uint32_t*>(x), reinterpret_cast<uint32_t*>(y), shape.data(), p.data(), rank);
  return info.Env().Undefined();
}

// rmsnormForward(x, w, y, rstd, rows, d, eps)
Napi::Value RmsnormForward(const Napi::CallbackInfo& info) {
  const int64_t rows = Int(info, 4), d = Int(info, 5);
  lk::rmsnorm_forward(F32(info, 0, rows * d, "x"), F32(info, 1, d, "w"), F32(info, 2, rows * d, "y"),
                      F32(info, 3, rows, "rstd"), rows, static_cast<int>(d), Float(info, 6));
  return info.Env().Undefined();
}

// rmsnormBackward(dy, x, w, rstd, dx, dw, rows, d)
Napi::Value RmsnormBackward(const Napi::CallbackInfo& info) {
  const int64_t rows = Int(info, 6), d = Int(info, 7);
  lk::rmsnorm_backward(F32(info, 0, rows * d, "dy"), F32(info, 1, rows * d, "x"), F32(info, 2, d, "w"),
                       F32(info, 3, rows, "rstd"), F32(info, 4, rows * d, "dx"), F32(info, 5, d, "dw"), rows,
                       static_cast<int>(d));
  return info.Env().Undefined();
}

// add(a, b, y, n)
Napi::Value Add(const Napi::CallbackInfo& info) {
  const int64_t n = Int(info, 3);
  lk::add(F32(info, 0, n, "a"), F32(info, 1, n, "b"), F32(info, 2, n, "y"), n);
  return info.Env().Undefined();
}

// swigluForward(g, u, y, n)
Napi::Value SwigluForward(const Napi::CallbackInfo& info) {
  const int64_t n = Int(info, 3);
  lk::swiglu_forward(F32(info, 0, n, "g"), F32(info, 1, n, "u"), F32(info, 2, n, "y"), n);
  return info.Env().Undefined();
}

// swigluBackward(dy, g, u, dg, du, n)
Napi::Value SwigluBackward(const Napi::CallbackInfo& info) {
  const int64_t n = Int(info, 5);
  lk::swiglu_backward(F32(info, 0, n, "dy"), F32(info, 1, n, "g"), F32(info, 2, n, "u"), F32(info, 3, n, "dg"),
                      F32(info, 4, n, "du"), n);
  return info.Env().Undefined();
}

// rope(x, cos, sin, y, B, H, T, hd, Bc, inverse, seqMajor = false)
Napi::Value Rope(const Napi::CallbackInfo& info) {
  const int64_t B = Int(info, 4), H = Int(info, 5), T = Int(info, 6), hd = Int(info, 7), Bc = Int(info, 8);
  if (hd % 2 != 0) throw Napi::RangeError::New(info.Env(), "rope: head dim must be even");
  if (Bc != 1 && Bc != B) throw Napi::RangeError::New(info.Env(), "rope: cos/sin batch must be 1 or B");
  const int64_t n = B * H * T * hd;
  lk::rope_apply(F32(info, 0, n, "x"), F32(info, 1, Bc * T * hd, "cos"), F32(info, 2, Bc * T * hd, "sin"),
                 F32(info, 3, n, "y"), static_cast<int>(B), static_cast<int>(H), static_cast<int>(T),
                 static_cast<int>(hd), static_cast<int>(Bc), Bool(info, 9), Bool(info, 10));
  return info.Env().Undefined();
}

// attentionForward(q, k, v, o, lse, B, nh, nkv, T, hs, scale, seqMajor = false, keyMask = null)
Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  const int64_t B = Int(info, 5), nh = Int(info, 6), nkv = Int(info, 7), T = Int(info, 8), hs = Int(info, 9);
  if (nkv == 0 || nh % nkv != 0) throw Napi::RangeError::New(info.Env(), "attention: nh must be a multiple of nkv");
  lk::attention_forward(F32(info, 0, B * nh * T * hs, "q"), F32(info, 1, B * nkv * T * hs, "k"),
                        F32(info, 2, B * nkv * T * hs, "v"), F32(info, 3, B * nh * T * hs, "o"),
                        F32(info, 4, B * nh * T, "lse"), static_cast<int>(B), static_cast<int>(nh),
                        static_cast<int>(nkv), static_cast<int>(T), static_cast<int>(hs), Float(info, 10),
                        Bool(info, 11), OptionalF32(info, 12, B * T, "keyMask"));
  return info.Env().Undefined();
}

// sampleRows(logits, u, out, B, V, temperature, topK, topP): logits Float32Array (B, V), u Float64Array (B) of draws
// in [0, 1), out Int32Array (B)
Napi::Value SampleRows(const Napi::CallbackInfo& info) {
  const int64_t B = Int(info, 3), V = Int(info, 4);
  const double temperature = info[5].ToNumber().DoubleValue(), topP = info[7].ToNumber().DoubleValue();
  const int64_t topK = Int(info, 6);
  if (B < 0 || V < 1 || !(temperature > 0) || !(topP > 0) || topK < 0)
    throw Napi::RangeError::New(info.Env(), "sampleRows: needs V >= 1, temperature > 0, top_p > 0, top_k >= 0");
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      static_cast<int64_t>(info[1].As<Napi::Float64Array>().ElementLength()) < B)
    throw Napi::TypeError::New(info.Env(), "sampleRows: u: expected a Float64Array of B draws");
  lk::sample_rows(F32(info, 0, B * V, "logits"), static_cast<int>(B), static_cast<int>(V), temperature,
                  static_cast<int>(topK), topP, info[1].As<Napi::Float64Array>().Data(), I32(info, 2, B, "out"));
  return info.Env().Undefined();
}

// attentionCached(q, k, v, o, B, nh, nkv, Tq, Tk, C, hs, scale, keyMask = null)
Napi::Value AttentionCached(const Napi::CallbackInfo& info) {
  const int64_t B = Int(info, 4), nh = Int(info, 5), nkv = Int(info, 6), Tq = Int(info, 7), Tk = Int(info, 8),
                C = Int(info, 9), hs = Int(info, 10);
  if (nkv == 0 || nh % nkv != 0) throw Napi::RangeError::New(info.Env(), "attention: nh must be a multiple of nkv");
  if (Tq < 1 || Tq > Tk || Tk > C)
    throw Napi::RangeError::New(info.Env(), "attentionCached: needs 1 <= Tq <= Tk <= C");
  lk::attention_cached(F32(info, 0, B * Tq * nh * hs, "q"), F32(info, 1, B * C * nkv * hs, "k"),
                       F32(info, 2, B * C * nkv * hs, "v"), F32(info, 3, B * Tq * nh * hs, "o"), static_cast<int>(B),
                       static_cast<int>(nh), static_cast<int>(nkv), static_cast<int>(Tq), static_cast<int>(Tk),
                       static_cast<int>(C), static_cast<int>(hs), Float(info, 11), OptionalF32(info, 12, B * Tk, "keyMask"));
  return info.Env().Undefined();
}

// attentionBackward(q, k, v, o, lse, dout, dq, dk, dv, B, nh, nkv, T, hs, scale, seqMajor = false, keyMask = null)
Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  const int64_t B = Int(info, 9), nh = Int(info, 10), nkv = Int(info, 11), T = Int(info, 12), hs = Int(info, 13);
  if (nkv == 0 || nh % nkv != 0) throw Napi::RangeError::New(info.Env(), "attention: nh must be a multiple of nkv");
  const int64_t nq = B * nh * T * hs, nk = B * nkv * T * hs;
  lk::attention_backward(F32(info, 0, nq, "q"), F32(info, 1, nk, "k"), F32(info, 2, nk, "v"), F32(info, 3, nq, "o"),
                         F32(info, 4, B * nh * T, "lse"), F32(info, 5, nq, "dout"), F32(info, 6, nq, "dq"),
                         F32(info, 7, nk, "dk"), F32(info, 8, nk, "dv"), static_cast<int>(B), static_cast<int>(nh),
                         static_cast<int>(nkv), static_cast<int>(T), static_cast<int>(hs), Float(info, 14),
                         Bool(info, 15), OptionalF32(info, 16, B * T, "keyMask"));
  return info.Env().Undefined();
}

// crossEntropyForward(logits, labels, loss, lse, rows, V, ignore) -> count of rows not ignored
Napi::Value CrossEntropyForward(const Napi::CallbackInfo& info) {
  const int64_t rows = Int(info, 4), V = Int(info, 5);
  if (!info[6].IsNumber()) throw Napi::TypeError::New(info.Env(), "ignore: expected a number");
  const int32_t ignore = info[6].As<Napi::Number>().Int32Value();
  const int32_t* labels = I32(info, 1, rows, "labels");
  const int64_t count = lk::cross_entropy_forward(F32(info, 0, rows * V, "logits"), labels, F32(info, 2, rows, "loss"),
                                                  F32(info, 3, rows, "lse"), rows, static_cast<int>(V), ignore);
  if (count < 0) {
    const int64_t r = -1 - count;
    throw Napi::RangeError::New(info.Env(), "cross-entropy: label " + std::to_string(labels[r]) + " at row " +
                                                std::to_string(r) + " is outside [0, " + std::to_string(V) +
                                                ") and is not the ignore index " + std::to_string(ignore));
  }
  return Napi::Number::New(info.Env(), static_cast<double>(count));
}

// crossEntropyBackward(logits, labels, lse, scale, dlogits, rows, V, ignore)
Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  const int64_t rows = Int(info, 5), V = Int(info, 6);
  if (!info[7].IsNumber()) throw Napi::TypeError::New(info.Env(), "ignore: expected a number");
  lk::cross_entropy_backward(F32(info, 0, rows * V, "logits"), I32(info, 1, rows, "labels"), F32(info, 2, rows, "lse"),
                             F32(info, 3, rows, "scale"), F32(info, 4, rows * V, "dlogits"), rows, static_cast<int>(V),
                             info[7].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

// linearCrossEntropy(h, W, labels, loss, dh|null, dW|null, rows, d, V, ignore, scale, chunk) -> rows not ignored
Napi::Value LinearCrossEntropy(const Napi::CallbackInfo& info) {
  const int64_t rows = Int(info, 6), d = Int(info, 7), V = Int(info, 8), chunk = Int(info, 11);
  if (!info[9].IsNumber()) throw Napi::TypeError::New(info.Env(), "ignore: expected a number");
  const int32_t ignore = info[9].As<Napi::Number>().Int32Value();
  const int32_t* labels = I32(info, 2, rows, "labels");
  const int64_t count = lk::linear_cross_entropy(
      F32(info, 0, rows * d, "h"), F32(info, 1, V * d, "weight"), labels, rows, static_cast<int>(d),
      static_cast<int>(V), ignore, Float(info, 10), F32(info, 3, rows, "loss"),
      const_cast<float*>(OptionalF32(info, 4, rows * d, "dh")), const_cast<float*>(OptionalF32(info, 5, V * d, "dW")),
      chunk);
  if (count < 0) {
    const int64_t r = -1 - count;
    throw Napi::RangeError::New(info.Env(), "linear cross-entropy: label " + std::to_string(labels[r]) + " at row " +
                                                std::to_string(r) + " is outside [0, " + std::to_string(V) +
                                                ") and is not the ignore index " + std::to_string(ignore));
  }
  return Napi::Number::New(info.Env(), static_cast<double>(count));
}

// loraAdapterGrad(x, dy, a, b, t | null, u | null, dA, dB, n, in, out, r, scaling): see lk::lora_adapter_grad
Napi::Value LoraAdapterGrad(const Napi::CallbackInfo& info) {
  const int64_t n = Int(info, 8), in = Int(info, 9), out = Int(info, 10), r = Int(info, 11);
  if (r < 1 || r > lk::kLoraFusedMaxRank)
    throw Napi::RangeError::New(info.Env(), "loraAdapterGrad: rank " + std::to_string(r) + " is outside [1, " +
                                                std::to_string(lk::kLoraFusedMaxRank) + "]");
  lk::lora_adapter_grad(F32(info, 0, n * in, "x"), F32(info, 1, n * out, "dy"), F32(info, 2, r * in, "a"),
                        F32(info, 3, out * r, "b"), OptionalF32(info, 4, n * r, "t"),
                        const_cast<float*>(OptionalF32(info, 5, n * r, "u")), F32(info, 6, r * in, "dA"),
                        F32(info, 7, out * r, "dB"), n, static_cast<int>(in), static_cast<int>(out),
                        static_cast<int>(r), Float(info, 12));
  return info.Env().Undefined();
}

// dropout(x, y, n, rate, keyLow, keyHigh): see lk::dropout; the 64-bit key as two 32-bit halves
Napi::Value Dropout(const Napi::CallbackInfo& info) {
  const int64_t n = Int(info, 2);
  const float rate = Float(info, 3);
  if (!(rate >= 0.0f && rate < 1.0f)) throw Napi::RangeError::New(info.Env(), "dropout: rate must be in [0, 1)");
  const uint64_t low = static_cast<uint64_t>(Int(info, 4)) & 0xffffffffU;
  const uint64_t high = static_cast<uint64_t>(Int(info, 5)) & 0xffffffffU;
  lk::dropout(F32(info, 0, n, "x"), F32(info, 1, n, "y"), n, rate, (high << 32) | low);
  return info.Env().Undefined();
}

// trimHeap() -> whether the C allocator was asked to return its free memory to the system (glibc's malloc_trim)
Napi::Value TrimHeap(const Napi::CallbackInfo& info) {
#if defined(__GLIBC__)
  malloc_trim(0);
  return Napi::Boolean::New(info.Env(), true);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

// fmaPeak(iterations) -> GFLOP/s of an FMA loop on every fused-kernel thread
Napi::Value FmaPeak(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), lk::fma_peak_gflops(Int(info, 0)));
}

// binary(op, a, na, b, nb, y, n)
Napi::Value Binary(const Napi::CallbackInfo& info) {
  const int64_t op = Int(info, 0), na = Int(info, 2), nb = Int(info, 4), n = Int(info, 6);
  const bool ok = op <= lk::kSquaredDifference && (na == n || na == 1 || (na > 0 && n % na == 0)) &&
                  (nb == n || nb == 1 || (nb > 0 && n % nb == 0)) && (na == n || nb == n || (na == 1 && nb == 1));
  if (!ok) throw Napi::RangeError::New(info.Env(), "binary: unsupported op or operand sizes");
  if (na == 1 && nb == 1 && n != 1) throw Napi::RangeError::New(info.Env(), "binary: two scalars give one element");
  lk::binary(static_cast<int>(op), F32(info, 1, na, "a"), na, F32(info, 3, nb, "b"), nb, F32(info, 5, n, "y"), n);
  return info.Env().Undefined();
}

// unary(op, x, y, n)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  const int64_t op = Int(info, 0), n = Int(info, 3);
  if (op > lk::kSign) throw Napi::RangeError::New(info.Env(), "unary: unsupported op");
  lk::unary(static_cast<int>(op), F32(info, 1, n, "x"), F32(info, 2, n, "y"), n);
  return info.Env().Undefined();
}

// sumRows(x, rows, cols, y) and sumCols(x, rows, cols, y)
Napi::Value SumRows(const Napi::CallbackInfo& info) {
  const int64_t rows = Int(info, 1), cols = Int(info, 2);
  lk::sum_rows(F32(info, 0, rows * cols, "x"), rows, cols, F32(info, 3, rows, "y"));
  return info.Env().Undefined();
}
Napi::Value SoftmaxRows(const Napi::CallbackInfo& info) {
  const int64_t rows = Int(info, 2), cols = Int(info, 3);
  lk::softmax_rows(F32(info, 0, rows * cols, "x"), F32(info, 1, rows * cols, "y"), rows, cols);
  return info.Env().Undefined();
}
Napi::Value SumCols(const Napi::CallbackInfo& info) {
  const int64_t rows = Int(info, 1), cols = Int(info, 2);
  lk::sum_cols(F32(info, 0, rows * cols, "x"), rows, cols, F32(info, 3, cols, "y"));
  return info.Env().Undefined();
}

// adamw(p, m, v, g, n, lr, beta1, beta2, eps, weightDecay, step)
Napi::Value Adamw(const Napi::CallbackInfo& info) {
  const int64_t n = Int(info, 4);
  const int64_t step = Int(info, 10);
  if (step < 1) throw Napi::RangeError::New(info.Env(), "adamw: step must be >= 1");
  lk::adamw_update(F32(info, 0, n, "p"), F32(info, 1, n, "m"), F32(info, 2, n, "v"), F32(info, 3, n, "g"), n,
                   Float(info, 5), Float(info, 6), Float(info, 7), Float(info, 8), Float(info, 9),
                   static_cast<int>(step));
  return info.Env().Undefined();
}

// lion(p, m, g, n, lr, beta1, beta2, weightDecay)
Napi::Value Lion(const Napi::CallbackInfo& info) {
  const int64_t n = Int(info, 3);
  lk::lion_update(F32(info, 0, n, "p"), F32(info, 1, n, "m"), F32(info, 2, n, "g"), n, Float(info, 4), Float(info, 5),
                  Float(info, 6), Float(info, 7));
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("sgemm", Napi::Function::New(env, Gemm<false>));
  exports.Set("bf16gemm", Napi::Function::New(env, Gemm<true>));
  exports.Set("bf16Supported", Napi::Function::New(env, Bf16Supported));
  exports.Set("setMatmulPrecision", Napi::Function::New(env, SetMatmulPrecision));
  exports.Set("transpose", Napi::Function::New(env, Transpose));
  exports.Set("rmsnormForward", Napi::Function::New(env, RmsnormForward));
  exports.Set("rmsnormBackward", Napi::Function::New(env, RmsnormBackward));
  exports.Set("add", Napi::Function::New(env, Add));
  exports.Set("swigluForward", Napi::Function::New(env, SwigluForward));
  exports.Set("swigluBackward", Napi::Function::New(env, SwigluBackward));
  exports.Set("rope", Napi::Function::New(env, Rope));
  exports.Set("attentionForward", Napi::Function::New(env, AttentionForward));
  exports.Set("attentionCached", Napi::Function::New(env, AttentionCached));
  exports.Set("sampleRows", Napi::Function::New(env, SampleRows));
  exports.Set("attentionBackward", Napi::Function::New(env, AttentionBackward));
  exports.Set("crossEntropyForward", Napi::Function::New(env, CrossEntropyForward));
  exports.Set("crossEntropyBackward", Napi::Function::New(env, CrossEntropyBackward));
  exports.Set("linearCrossEntropy", Napi::Function::New(env, LinearCrossEntropy));
  exports.Set("loraAdapterGrad", Napi::Function::New(env, LoraAdapterGrad));
  exports.Set("fmaPeak", Napi::Function::New(env, FmaPeak));
  exports.Set("trimHeap", Napi::Function::New(env, TrimHeap));
  exports.Set("dropout", Napi::Function::New(env, Dropout));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("sumRows", Napi::Function::New(env, SumRows));
  exports.Set("sumCols", Napi::Function::New(env, SumCols));
  exports.Set("softmaxRows", Napi::Function::New(env, SoftmaxRows));
  exports.Set("adamw", Napi::Function::New(env, Adamw));
  exports.Set("lion", Napi::Function::New(env, Lion));
  exports.Set("dgesdd", Napi::Function::New(env, lk::Dgesdd));
  exports.Set("hasLapack", Napi::Function::New(env, lk::HasLapack));
  return exports;
}

}  // namespace

NODE_API_MODULE(loralab_kernels, Init)
