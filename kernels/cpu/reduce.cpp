// kernels/cpu/reduce.cpp — CPU twin of kernels/reduce.h: sum and max along the middle axis of [outer, r, inner],
// and the scatter/gather of an arg-max index. Sums accumulate in double (the reference should be the accurate
// one); work is split over (outer, chunk of inner) so that both [1, r, big] and [big, r, 1] parallelise.
#include "kernels/reduce.h"

#include <algorithm>
#include <cmath>

namespace ganglion::cpu {
namespace {

constexpr int64_t kParallelMin = 32768;
constexpr int64_t kChunk = 256;

// Calls f(o, i0, i1) for every outer index o and chunk [i0, i1) of the inner axis, in parallel when the whole
// tensor (outer*r*inner elements) is large.
template <class F>
void for_each_chunk(int64_t outer, int64_t r, int64_t inner, F f) {
  const int64_t chunks = (inner + kChunk - 1) / kChunk;
  const int64_t tasks = outer * chunks;
  if (chunks == 1) {  // inner fits one chunk (Maxout's [N*units, k, 1]): no index division per task
#pragma omp parallel for schedule(static) if (outer * r * inner > kParallelMin)
    for (int64_t o = 0; o < outer; ++o) f(o, int64_t{0}, inner);
    return;
  }
#pragma omp parallel for schedule(static) if (outer * r * inner > kParallelMin)
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t o = t / chunks, i0 = (t % chunks) * kChunk;
    const int64_t i1 = i0 + kChunk < inner ? i0 + kChunk : inner;
    f(o, i0, i1);
  }
}

}  // namespace

void sum_axis(Stream, const float* x, float* y, int64_t outer, int64_t r, int64_t inner, float scale) {
  for_each_chunk(outer, r, inner, [&](int64_t o, int64_t i0, int64_t i1) {
    const int64_t w = i1 - i0;
    double acc[kChunk];  // only the chunk's w entries are used: zeroing all kChunk costs more for small inner
    std::fill(acc, acc + w, 0.0);
    for (int64_t j = 0; j < r; ++j) {
      const float* row = x + (o * r + j) * inner + i0;
      for (int64_t i = 0; i < w; ++i) acc[i] += row[i];
    }
    for (int64_t i = 0; i < w; ++i) y[o * inner + i0 + i] = static_cast<float>(acc[i] * scale);
  });
}

void max_axis(Stream, const float* x, float* y, int32_t* idx, int64_t outer, int64_t r, int64_t inner) {
  for_each_chunk(outer, r, inner, [&](int64_t o, int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float* col = x + o * r * inner + i;
      float best = col[0];
      int32_t arg = 0;
      // Strictly greater keeps the first index on ties; a NaN wins (and stays), as PyTorch's max propagates it.
      for (int64_t j = 1; j < r && !std::isnan(best); ++j) {
        const float v = col[j * inner];
        if (v > best || std::isnan(v)) {
          best = v;
          arg = static_cast<int32_t>(j);
        }
      }
      y[o * inner + i] = best;
      idx[o * inner + i] = arg;
    }
  });
}

void scatter_axis(Stream, const float* g, const int32_t* idx, float* out, int64_t outer, int64_t r, int64_t inner) {
  for_each_chunk(outer, r, inner, [&](int64_t o, int64_t i0, int64_t i1) {
    for (int64_t j = 0; j < r; ++j) {
      float* row = out + (o * r + j) * inner;
      for (int64_t i = i0; i < i1; ++i) row[i] = (idx[o * inner + i] == j) ? g[o * inner + i] : 0.f;
    }
  });
}

void gather_axis(Stream, const float* x, const int32_t* idx, float* y, int64_t outer, int64_t r, int64_t inner) {
  for_each_chunk(outer, r, inner, [&](int64_t o, int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) y[o * inner + i] = x[(o * r + idx[o * inner + i]) * inner + i];
  });
}

}  // namespace ganglion::cpu
