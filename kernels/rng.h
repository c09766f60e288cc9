// kernels/rng.h — random fills from Philox4x32-10 (kernels/philox.h). The same (seed, offset) gives the same
// numbers on both twins (bit-identical uniforms; normals equal to float rounding of log/cos).
// Twins: kernels/cpu/rng.cpp, kernels/cuda/rng.cu.
#pragma once
#include "kernels/common.h"

namespace ganglion {

// Blocks used by a fill of n values: ceil(n/4); callers advance their offset by that.
inline uint64_t philox_blocks(int64_t n) { return static_cast<uint64_t>((n + 3) / 4); }

// uniform: y[i] = lo + (hi-lo) * (1 - u) where u = uniform01(word i%4 of block i/4), so y in [lo, hi).
// normal:  pairs (2j, 2j+1) inside each block use Box-Muller on words (2j, 2j+1) of that block:
//   r = sqrt(-2 ln u0), y0 = mean + std*r*cos(2 pi u1), y1 = mean + std*r*sin(2 pi u1).
#define GANGLION_RNG_DECLS                                                                                   \
  void philox_uniform(Stream s, float* y, int64_t n, uint64_t seed, uint64_t offset, float lo, float hi);     \
  void philox_normal(Stream s, float* y, int64_t n, uint64_t seed, uint64_t offset, float mean, float std);

namespace cpu {
GANGLION_RNG_DECLS
}
namespace cuda {
GANGLION_RNG_DECLS
}

}  // namespace ganglion
