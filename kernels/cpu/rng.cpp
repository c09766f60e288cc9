// kernels/cpu/rng.cpp — CPU twin of kernels/rng.h: uniform and normal fills from Philox4x32-10
// (kernels/philox.h). Element i uses word i%4 of block i/4, so any split of the work gives the same numbers.
// The uniform's affine step is one explicit fma, so the result does not depend on the compiler's contraction
// choices (the CUDA twin must use fmaf likewise to match bit for bit).
#include "kernels/rng.h"

#include <cmath>

#include "kernels/philox.h"

namespace ganglion::cpu {
namespace {

constexpr int64_t kParallelMin = 32768;

// f(block_index, words, first_element, count) for every block of 4 values covering [0, n).
template <class F>
void for_each_block(int64_t n, uint64_t seed, uint64_t offset, F f) {
  const int64_t blocks = static_cast<int64_t>(philox_blocks(n));
#pragma omp parallel for schedule(static) if (n > kParallelMin)
  for (int64_t b = 0; b < blocks; ++b) {
    const philox::U4 u = philox::block(seed, offset, static_cast<uint64_t>(b));
    const int64_t first = b * 4;
    f(u, first, n - first < 4 ? n - first : 4);
  }
}

}  // namespace

void philox_uniform(Stream, float* y, int64_t n, uint64_t seed, uint64_t offset, float lo, float hi) {
  const float span = hi - lo;
  for_each_block(n, seed, offset, [&](const philox::U4& u, int64_t first, int64_t count) {
    for (int k = 0; k < count; ++k) {
      const float one_minus_u = 1.0f - philox::uniform01(philox::word(u, k));  // exact: u is a multiple of 2^-24
      y[first + k] = std::fma(span, one_minus_u, lo);
    }
  });
}

void philox_normal(Stream, float* y, int64_t n, uint64_t seed, uint64_t offset, float mean, float stddev) {
  constexpr float kTwoPi = 6.283185307179586f;
  for_each_block(n, seed, offset, [&](const philox::U4& u, int64_t first, int64_t count) {
    for (int j = 0; j < 2 && 2 * j < count; ++j) {
      const float u0 = philox::uniform01(philox::word(u, 2 * j));
      const float u1 = philox::uniform01(philox::word(u, 2 * j + 1));
      const float r = std::sqrt(-2.0f * std::log(u0));
      const float theta = kTwoPi * u1;
      y[first + 2 * j] = mean + stddev * r * std::cos(theta);
      if (2 * j + 1 < count) y[first + 2 * j + 1] = mean + stddev * r * std::sin(theta);
    }
  });
}

}  // namespace ganglion::cpu
