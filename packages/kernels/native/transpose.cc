// Axis permutation of a dense 4-byte tensor (float32 or int32 bits): y = transpose(x, perm).

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "platform.h"

namespace lk {

void transpose4(const uint32_t* x, uint32_t* y, const int64_t* shape, const int* perm, int rank) {
  // Simplify first: drop size-1 axes, then merge runs of axes that stay adjacent and in order
  // (e.g. (B, T, nh, hs) with perm (0, 2, 1, 3) keeps hs contiguous: rows of hs floats are copied whole).
  std::vector<int> kept(rank, -1);  // input axis -> index among the kept axes
  int nKept = 0;
  for (int a = 0; a < rank; a++)
    if (shape[a] != 1) kept[a] = nKept++;
  std::vector<std::pair<int, int64_t>> groups;  // in output order: (first kept input axis, merged size)
  int prev = -2;
  for (int i = 0; i < rank; i++) {
    const int k = kept[perm[i]];
    if (k < 0) continue;
    if (k == prev + 1 && !groups.empty()) {
      groups.back().second *= shape[perm[i]];
    } else {
      groups.push_back({k, shape[perm[i]]});
    }
    prev = k;
  }
  // Input order of the groups is the order of their first axes.
  std::vector<int> order(groups.size());
  for (size_t i = 0; i < order.size(); i++) order[i] = static_cast<int>(i);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return groups[a].first < groups[b].first; });
  std::vector<int64_t> dims(groups.size());  // merged input dims
  std::vector<int> p(groups.size());         // merged permutation: output axis i reads input axis p[i]
  for (size_t j = 0; j < order.size(); j++) {
    dims[j] = groups[order[j]].second;
    p[order[j]] = static_cast<int>(j);
  }
  int64_t total = 1;
  for (int a = 0; a < rank; a++) total *= shape[a];
  const int r = static_cast<int>(dims.size());
  if (r <= 1) {  // no real permutation: a copy
    std::memcpy(y, x, static_cast<size_t>(total) * 4);
    return;
  }
  std::vector<int64_t> inStride(r);
  inStride[r - 1] = 1;
  for (int a = r - 2; a >= 0; a--) inStride[a] = inStride[a + 1] * dims[a + 1];
  std::vector<int64_t> outDims(r), srcStride(r);  // per output axis: size and stride in x
  for (int i = 0; i < r; i++) {
    outDims[i] = dims[p[i]];
    srcStride[i] = inStride[p[i]];
  }
  const int64_t inner = outDims[r - 1];
  const int64_t innerStride = srcStride[r - 1];
  const int64_t rows = total / inner;
  const bool contiguous = innerStride == 1;
#pragma omp parallel for num_threads(fused_threads()) if (total >= (1 << 16)) schedule(static)
  for (int64_t row = 0; row < rows; row++) {
    // input offset of this output row: unravel row over outDims[0..r-2]
    int64_t rem = row, off = 0;
    for (int i = r - 2; i >= 0; i--) {
      off += (rem % outDims[i]) * srcStride[i];
      rem /= outDims[i];
    }
    uint32_t* dst = y + row * inner;
    if (contiguous) {
      std::memcpy(dst, x + off, static_cast<size_t>(inner) * 4);
    } else {
      const uint32_t* src = x + off;
      for (int64_t j = 0; j < inner; j++) dst[j] = src[j * innerStride];
    }
  }
}

}  // namespace lk
