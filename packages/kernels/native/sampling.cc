// Token sampling for a batch of logit rows (temperature, then top-k, then top-p, as Hugging Face orders them): the
// host-side step of generation between two forward passes. The definition is @loralab/model's `sampleToken`: rank
// every token (the larger logit first, the smaller id on ties), p_i = exp((x_i − max) / T) in double, cut to the top
// k, then to the shortest prefix whose mass reaches top_p · total, and walk it with one uniform draw u ∈ [0, 1)
// per row. Only the candidates are sorted: tokens are bucketed by ⌊(max − x_i) / T⌋, a bucket is a contiguous run of
// the ranking, and the buckets down to the one where the count reaches k (or the mass p) hold the cut; when
// rounding says otherwise the row is ranked whole. Rows run in parallel on the fused-kernel threads.
#include <algorithm>
#include <vector>

#include "kernels.h"

namespace lk {

namespace {

constexpr int kBuckets = 64;  // the last holds every token below e^-63 of the most likely

int32_t sample_row(const float* x, int V, double T, int topK, double topP, double u, std::vector<double>& p,
                   std::vector<uint8_t>& bucket, std::vector<int32_t>& ids) {
  double mx = -INFINITY;
  for (int i = 0; i < V; i++) mx = x[i] > mx ? x[i] : mx;
  double bucketMass[kBuckets] = {0};
  int64_t bucketCount[kBuckets] = {0};
  double all = 0;
  for (int i = 0; i < V; i++) {
    const double z = (mx - static_cast<double>(x[i])) / T;
    p[i] = std::exp(-z);
    all += p[i];
    const int b = z < kBuckets - 1 ? static_cast<int>(std::floor(z)) : kBuckets - 1;
    bucket[i] = static_cast<uint8_t>(b);
    bucketMass[b] += p[i];
    bucketCount[b]++;
  }
  const int k = topK > 0 && topK < V ? topK : V;
  int limit = kBuckets - 1;
  if (k < V || topP < 1) {
    double mass = 0;
    int64_t count = 0;
    for (int b = 0; b < kBuckets; b++) {
      mass += bucketMass[b];
      count += bucketCount[b];
      if (k < V ? count >= k : mass >= topP * all) {
        limit = b;
        break;
      }
    }
  }
  for (int last = limit;; last = kBuckets - 1) {
    ids.clear();
    for (int i = 0; i < V; i++)
      if (bucket[i] <= last) ids.push_back(i);
    std::sort(ids.begin(), ids.end(), [x](int32_t a, int32_t b) { return x[a] > x[b] || (x[a] == x[b] && a < b); });
    int n = std::min<int>(static_cast<int>(ids.size()), k);
    double total = all;
    if (k < V) {
      total = 0;
      for (int j = 0; j < n; j++) total += p[ids[j]];
    }
    if (topP < 1) {
      // keep tokens while the probability mass before them is below top_p (at least one)
      double mass = 0;
      int keep = 0;
      while (keep < n && (keep == 0 || mass < topP * total)) mass += p[ids[keep++]];
      if (last < kBuckets - 1 && mass < topP * total) continue;  // rounding: the nucleus reaches further
      n = keep;
      total = mass;
    }
    double left = u * total;
    for (int j = 0; j < n; j++) {
      left -= p[ids[j]];
      if (left < 0) return ids[j];
    }
    return ids[n - 1];
  }
}

}  // namespace

void sample_rows(const float* logits, int B, int V, double temperature, int topK, double topP, const double* u,
                 int32_t* out) {
#pragma omp parallel num_threads(static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(fused_threads(), B))))
  {
    std::vector<double> p(V);
    std::vector<uint8_t> bucket(V);
    std::vector<int32_t> ids;
    ids.reserve(V);
#pragma omp for schedule(static)
    for (int b = 0; b < B; b++)
      out[b] = sample_row(logits + static_cast<int64_t>(b) * V, V, temperature, topK, topP, u[b], p, bucket, ids);
  }
}

}  // namespace lk
