// Singular value decomposition through LAPACK's dgesdd (Float64, divide and conquer on the bidiagonal: Gu & Eisenstat
// 1995, LAPACK Users' Guide §2.4.4), run on a libuv worker thread (N-API AsyncWorker) so that the JavaScript thread
// stays free and several matrices decompose at once. OpenBLAS (Linux) and Accelerate (macOS) both export dgesdd_.
//
// Layout trick, no transposes: a row-major rows × cols matrix A is, read column-major, Aᵀ (cols × rows). LAPACK on
// Aᵀ = V Σ Uᵀ returns "U" = V (cols × k, column-major) — which is Vᵀ (k × cols) row-major — and "VT" = Uᵀ (k × rows,
// column-major) — which is U (rows × k) row-major. k = min(rows, cols).
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

// The Fortran symbol with gfortran's hidden length of the CHARACTER argument (size_t, last); a callee without it
// (Accelerate's CLAPACK) ignores the extra argument under the x86-64 and arm64 calling conventions. Weak, so that an
// OpenBLAS built without LAPACK still loads (the symbol is then null and HasLapack() says so) instead of the process
// dying at the first call with an unresolved symbol.
extern "C" __attribute__((weak)) void dgesdd_(const char* jobz, const int* m, const int* n, double* a, const int* lda, double* s, double* u,
                        const int* ldu, double* vt, const int* ldvt, double* work, const int* lwork, int* iwork,
                        int* info, size_t jobz_len);

namespace lk {

namespace {

class SvdWorker : public Napi::AsyncWorker {
 public:
  SvdWorker(Napi::Env env, std::vector<double>&& a, int rows, int cols, Napi::Float64Array s, Napi::Value u,
            Napi::Value vt)
      : Napi::AsyncWorker(env, "loralab-dgesdd"),
        deferred_(Napi::Promise::Deferred::New(env)),
        a_(std::move(a)),
        rows_(rows),
        cols_(cols),
        s_(s.Data()),
        sRef_(Napi::Persistent(s.As<Napi::Object>())) {
    // The output arrays stay referenced until the promise settles, so the worker thread may write into them.
    if (u.IsTypedArray()) {
      u_ = u.As<Napi::Float64Array>().Data();
      uRef_ = Napi::Persistent(u.As<Napi::Object>());
    }
    if (vt.IsTypedArray()) {
      vt_ = vt.As<Napi::Float64Array>().Data();
      vtRef_ = Napi::Persistent(vt.As<Napi::Object>());
    }
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    const bool vectors = u_ != nullptr || vt_ != nullptr;
    const char jobz = vectors ? 'S' : 'N';
    const int m = cols_, n = rows_, lda = std::max(1, cols_);  // LAPACK's M × N is Aᵀ (see the top of the file)
    const int k = std::min(m, n);
    // LAPACK "U" (m × k, ldu = m) is our Vᵀ and "VT" (k × n, ldvt = k) our U; a side not wanted goes to scratch.
    std::vector<double> scratchU, scratchVt;
    double* lu = vt_;
    double* lvt = u_;
    if (vectors && lu == nullptr) {
      scratchU.resize(static_cast<size_t>(m) * k);
      lu = scratchU.data();
    }
    if (vectors && lvt == nullptr) {
      scratchVt.resize(static_cast<size_t>(k) * n);
      lvt = scratchVt.data();
    }
    double dummy = 0;
    if (!vectors) lu = lvt = &dummy;
    const int ldu = vectors ? std::max(1, m) : 1;
    const int ldvt = vectors ? std::max(1, k) : 1;
    std::vector<int> iwork(8 * static_cast<size_t>(std::max(1, k)));
    int info = 0;
    int lwork = -1;
    double query = 0;
    dgesdd_(&jobz, &m, &n, a_.data(), &lda, s_, lu, &ldu, lvt, &ldvt, &query, &lwork, iwork.data(), &info, 1);
    if (info != 0) {
      SetError("dgesdd workspace query failed with info = " + std::to_string(info));
      return;
    }
    // The optimal size comes back as a double computed in floating point: round up, with one to spare, and keep it
    // within LAPACK's 32-bit integers.
    const double want = std::ceil(query) + 1;
    if (want > 2147483647.0) {
      SetError("dgesdd needs a workspace of " + std::to_string(want) + " doubles, beyond LAPACK's 32-bit sizes");
      return;
    }
    lwork = static_cast<int>(want);
    std::vector<double> work(static_cast<size_t>(lwork));
    dgesdd_(&jobz, &m, &n, a_.data(), &lda, s_, lu, &ldu, lvt, &ldvt, work.data(), &lwork, iwork.data(), &info, 1);
    if (info > 0) {
      SetError("dgesdd: the divide-and-conquer iteration did not converge (DBDSDC info = " + std::to_string(info) +
               ")");
    } else if (info < 0) {
      SetError("dgesdd: argument " + std::to_string(-info) + " had an illegal value");
    }
  }

  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<double> a_;
  int rows_, cols_;
  double* s_;
  double* u_ = nullptr;
  double* vt_ = nullptr;
  Napi::ObjectReference sRef_, uRef_, vtRef_;
};

template <typename T>
void CopyFinite(const Napi::Env& env, const T* src, int64_t rows, int64_t cols, std::vector<double>& dst) {
  const int64_t n = rows * cols;
  for (int64_t i = 0; i < n; i++) {
    const double x = static_cast<double>(src[i]);
    if (!std::isfinite(x)) {
      throw Napi::RangeError::New(env, "dgesdd: the matrix has a non-finite entry " + std::to_string(x) + " at row " +
                                           std::to_string(i / cols) + ", column " + std::to_string(i % cols));
    }
    dst[i] = x;
  }
}

Napi::Float64Array OutArray(const Napi::Env& env, const Napi::Value& v, int64_t length, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw Napi::TypeError::New(env, std::string(what) + ": expected a Float64Array");
  auto a = v.As<Napi::Float64Array>();
  if (static_cast<int64_t>(a.ElementLength()) != length)
    throw Napi::RangeError::New(env, std::string(what) + ": expected " + std::to_string(length) +
                                         " elements, found " + std::to_string(a.ElementLength()));
  return a;
}

}  // namespace

// hasLapack() -> whether the linked BLAS exports dgesdd_.
Napi::Value HasLapack(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), dgesdd_ != nullptr); }

// dgesdd(a, rows, cols, s, u|null, vt|null) -> Promise<void>. a: Float32Array or Float64Array (rows × cols, row-major),
// copied (to Float64) before the call returns, so the caller may reuse it at once; s (k), u (rows × k), vt (k × cols):
// Float64Arrays the worker writes into, not to be touched until the promise settles. Vectors are computed when u or vt
// is given (jobz = 'S'), else only the values (jobz = 'N', several times faster).
Napi::Value Dgesdd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (dgesdd_ == nullptr)
    throw Napi::Error::New(env, "dgesdd: the linked BLAS has no LAPACK (dgesdd_ not found); install an OpenBLAS with LAPACK");
  auto dim = [&](size_t i, const char* what) {
    if (!info[i].IsNumber()) throw Napi::TypeError::New(env, std::string(what) + ": expected a number");
    const double v = info[i].As<Napi::Number>().DoubleValue();
    if (!(v >= 1 && v <= 2147483647.0 && v == std::floor(v)))
      throw Napi::RangeError::New(env, std::string(what) + ": expected an integer in [1, 2^31), found " +
                                           std::to_string(v));
    return static_cast<int>(v);
  };
  const int rows = dim(1, "rows"), cols = dim(2, "cols");
  const int64_t k = std::min(rows, cols);
  const int64_t count = static_cast<int64_t>(rows) * cols;
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "a: expected a Float32Array or Float64Array");
  auto typed = info[0].As<Napi::TypedArray>();
  if (static_cast<int64_t>(typed.ElementLength()) != count)
    throw Napi::RangeError::New(env, "a: expected rows·cols = " + std::to_string(count) + " elements, found " +
                                         std::to_string(typed.ElementLength()));
  std::vector<double> a(static_cast<size_t>(count));
  if (typed.TypedArrayType() == napi_float64_array)
    CopyFinite(env, typed.As<Napi::Float64Array>().Data(), rows, cols, a);
  else if (typed.TypedArrayType() == napi_float32_array)
    CopyFinite(env, typed.As<Napi::Float32Array>().Data(), rows, cols, a);
  else
    throw Napi::TypeError::New(env, "a: expected a Float32Array or Float64Array");
  Napi::Float64Array s = OutArray(env, info[3], k, "s");
  const bool hasU = !(info[4].IsNull() || info[4].IsUndefined());
  const bool hasVt = !(info[5].IsNull() || info[5].IsUndefined());
  if (hasU) OutArray(env, info[4], rows * k, "u");
  if (hasVt) OutArray(env, info[5], k * cols, "vt");
  auto* worker = new SvdWorker(env, std::move(a), rows, cols, s, info[4], info[5]);
  Napi::Promise promise = worker->Promise();
  worker->Queue();  // the worker deletes itself after OnOK/OnError
  return promise;
}

}  // namespace lk
