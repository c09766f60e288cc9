// kernels/cuda/rng.cu — CUDA twin of kernels/rng.h: uniform and normal fills from Philox4x32-10
// (kernels/philox.h), one thread per block of four values. Bit-identical uniforms to the CPU twin: the affine
// step is one explicit fmaf, as the CPU's std::fma. Normals use the precise logf/sqrtf/cosf/sinf (never the
// fast-math intrinsics), so they agree with the CPU to float rounding of those functions.
#include "kernels/cuda/check.h"
#include "kernels/philox.h"
#include "kernels/rng.h"

namespace ganglion::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void philox_uniform_kernel(float* __restrict__ y, int64_t n, uint64_t seed, uint64_t offset, float lo,
                                      float span) {
  const int64_t blocks = (n + 3) / 4;
  for (int64_t b = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; b < blocks;
       b += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const philox::U4 u = philox::block(seed, offset, static_cast<uint64_t>(b));
    const int64_t first = b * 4;
    const int count = n - first < 4 ? static_cast<int>(n - first) : 4;
    for (int k = 0; k < count; ++k) {
      const float one_minus_u = 1.0f - philox::uniform01(philox::word(u, k));  // exact: a multiple of 2^-24
      y[first + k] = fmaf(span, one_minus_u, lo);
    }
  }
}

__global__ void philox_normal_kernel(float* __restrict__ y, int64_t n, uint64_t seed, uint64_t offset, float mean,
                                     float stddev) {
  constexpr float kTwoPi = 6.283185307179586f;
  const int64_t blocks = (n + 3) / 4;
  for (int64_t b = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; b < blocks;
       b += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const philox::U4 u = philox::block(seed, offset, static_cast<uint64_t>(b));
    const int64_t first = b * 4;
    const int count = n - first < 4 ? static_cast<int>(n - first) : 4;
    for (int j = 0; j < 2 && 2 * j < count; ++j) {
      const float u0 = philox::uniform01(philox::word(u, 2 * j));
      const float u1 = philox::uniform01(philox::word(u, 2 * j + 1));
      const float r = sqrtf(-2.0f * logf(u0));
      const float theta = kTwoPi * u1;
      y[first + 2 * j] = mean + stddev * r * cosf(theta);
      if (2 * j + 1 < count) y[first + 2 * j + 1] = mean + stddev * r * sinf(theta);
    }
  }
}

}  // namespace

void philox_uniform(Stream s, float* y, int64_t n, uint64_t seed, uint64_t offset, float lo, float hi) {
  if (n <= 0) return;
  const int64_t blocks = static_cast<int64_t>(philox_blocks(n));
  philox_uniform_kernel<<<grid_for(blocks, kThreads), kThreads, 0, as_stream(s)>>>(y, n, seed, offset, lo, hi - lo);
  GANGLION_LAUNCH_CHECK("philox_uniform");
}

void philox_normal(Stream s, float* y, int64_t n, uint64_t seed, uint64_t offset, float mean, float std) {
  if (n <= 0) return;
  const int64_t blocks = static_cast<int64_t>(philox_blocks(n));
  philox_normal_kernel<<<grid_for(blocks, kThreads), kThreads, 0, as_stream(s)>>>(y, n, seed, offset, mean, std);
  GANGLION_LAUNCH_CHECK("philox_normal");
}

}  // namespace ganglion::cuda
