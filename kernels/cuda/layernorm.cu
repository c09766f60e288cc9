// kernels/cuda/layernorm.cu — CUDA twin of kernels/layernorm.h. Forward and the dx part of backward give each
// row to a warp (D <= 1024) or a whole block; the mean and variance are taken in two passes over the row (the
// variance from centred values, so it is stable). dgamma/dbeta are column sums over rows, computed by 32-column
// tiles with 8 partial rows each and, when there are few columns and many rows, in chunks of rows that a second
// pass (sum_axis) adds up. No atomics: results are deterministic.
#include <algorithm>

#include "kernels/cuda/check.h"
#include "kernels/cuda/reduce_util.cuh"
#include "kernels/layernorm.h"
#include "kernels/reduce.h"

namespace ganglion::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kRowsPerTile = kThreads / kWarpSize;
constexpr int64_t kMaxGrid = 65535LL * 8;

unsigned blocks_for(int64_t units) {
  return static_cast<unsigned>(units < 1 ? 1 : units > kMaxGrid ? kMaxGrid : units);
}

// TPR threads per row: 32 (a warp) or kThreads (the block). The row loop is block-uniform, so every thread
// reaches each group_reduce.
template <int TPR>
__global__ void __launch_bounds__(kThreads)
    layernorm_forward_kernel(const float* __restrict__ x, const float* __restrict__ gamma,
                             const float* __restrict__ beta, float* __restrict__ y, float* __restrict__ save_mean,
                             float* __restrict__ save_invstd, int64_t M, int64_t D, float eps) {
  __shared__ float scratch[kThreads / kWarpSize];
  constexpr int kGroups = kThreads / TPR;
  const int group = static_cast<int>(threadIdx.x) / TPR, lane = static_cast<int>(threadIdx.x) % TPR;
  const float inv_d = D > 0 ? 1.f / static_cast<float>(D) : 0.f;
  for (int64_t base = static_cast<int64_t>(blockIdx.x) * kGroups; base < M;
       base += static_cast<int64_t>(gridDim.x) * kGroups) {
    const int64_t m = base + group;
    const bool live = m < M;
    const float* xr = x + (live ? m : 0) * D;
    float sum = 0.f;
    if (live)
      for (int64_t d = lane; d < D; d += TPR) sum += xr[d];
    const float mean = group_reduce<TPR>(sum, Plus{}, scratch) * inv_d;
    float ss = 0.f;
    if (live)
      for (int64_t d = lane; d < D; d += TPR) {
        const float c = xr[d] - mean;
        ss += c * c;
      }
    const float var = group_reduce<TPR>(ss, Plus{}, scratch) * inv_d;
    const float invstd = 1.f / sqrtf(var + eps);
    if (!live) continue;
    float* yr = y + m * D;
    for (int64_t d = lane; d < D; d += TPR) {
      const float xhat = (xr[d] - mean) * invstd;
      yr[d] = xhat * (gamma ? gamma[d] : 1.f) + (beta ? beta[d] : 0.f);
    }
    if (lane == 0) {
      save_mean[m] = mean;
      save_invstd[m] = invstd;
    }
  }
}

// dx = invstd * (dy*gamma - mean_d(dy*gamma) - xhat * mean_d(dy*gamma*xhat)), a row per TPR threads.
template <int TPR>
__global__ void __launch_bounds__(kThreads)
    layernorm_dx_kernel(const float* __restrict__ x, const float* __restrict__ dy, const float* __restrict__ gamma,
                        const float* __restrict__ save_mean, const float* __restrict__ save_invstd,
                        float* __restrict__ dx, int64_t M, int64_t D) {
  __shared__ float scratch[kThreads / kWarpSize];
  constexpr int kGroups = kThreads / TPR;
  const int group = static_cast<int>(threadIdx.x) / TPR, lane = static_cast<int>(threadIdx.x) % TPR;
  const float inv_d = D > 0 ? 1.f / static_cast<float>(D) : 0.f;
  for (int64_t base = static_cast<int64_t>(blockIdx.x) * kGroups; base < M;
       base += static_cast<int64_t>(gridDim.x) * kGroups) {
    const int64_t m = base + group;
    const bool live = m < M;
    const int64_t row = (live ? m : 0) * D;
    const float mean = live ? save_mean[m] : 0.f, invstd = live ? save_invstd[m] : 0.f;
    float s1 = 0.f, s2 = 0.f;
    if (live)
      for (int64_t d = lane; d < D; d += TPR) {
        const float dyg = dy[row + d] * (gamma ? gamma[d] : 1.f);
        s1 += dyg;
        s2 += dyg * ((x[row + d] - mean) * invstd);
      }
    const float m1 = group_reduce<TPR>(s1, Plus{}, scratch) * inv_d;
    const float m2 = group_reduce<TPR>(s2, Plus{}, scratch) * inv_d;
    if (!live) continue;
    for (int64_t d = lane; d < D; d += TPR) {
      const float dyg = dy[row + d] * (gamma ? gamma[d] : 1.f);
      const float xhat = (x[row + d] - mean) * invstd;
      dx[row + d] = invstd * (dyg - m1 - xhat * m2);
    }
  }
}

// Column sums over rows [c*L, min(M, (c+1)*L)) of dy*xhat (into pg[c*D + d]) and dy (into pb[c*D + d]);
// either output may be null. A block takes 32 columns; thread (ty, tx) walks every 8th row of column tx.
__global__ void __launch_bounds__(kThreads)
    layernorm_param_grad_kernel(const float* __restrict__ x, const float* __restrict__ dy,
                                const float* __restrict__ save_mean, const float* __restrict__ save_invstd,
                                float* __restrict__ pg, float* __restrict__ pb, int64_t M, int64_t D, int64_t P,
                                int64_t L) {
  __shared__ float sg[kRowsPerTile][kWarpSize + 1];
  __shared__ float sb[kRowsPerTile][kWarpSize + 1];
  const int tx = static_cast<int>(threadIdx.x) % kWarpSize, ty = static_cast<int>(threadIdx.x) / kWarpSize;
  const int64_t ntile = (D + kWarpSize - 1) / kWarpSize;
  for (int64_t t = blockIdx.x; t < ntile * P; t += gridDim.x) {  // block-uniform, so the barriers are safe
    const int64_t c = t % P, d = (t / P) * kWarpSize + tx;
    const int64_t m0 = c * L, m1 = min(M, m0 + L);
    float g = 0.f, b = 0.f;
    if (d < D)
      for (int64_t m = m0 + ty; m < m1; m += kRowsPerTile) {
        const float dyv = dy[m * D + d];
        g += dyv * ((x[m * D + d] - save_mean[m]) * save_invstd[m]);
        b += dyv;
      }
    sg[ty][tx] = g;
    sb[ty][tx] = b;
    __syncthreads();
    if (ty == 0 && d < D) {
#pragma unroll
      for (int k = 1; k < kRowsPerTile; ++k) {
        g += sg[k][tx];
        b += sb[k][tx];
      }
      if (pg) pg[c * D + d] = g;
      if (pb) pb[c * D + d] = b;
    }
    __syncthreads();
  }
}

void param_grads(cudaStream_t st, Stream s, const float* x, const float* dy, const float* save_mean,
                 const float* save_invstd, float* dgamma, float* dbeta, int64_t M, int64_t D) {
  const int64_t ntile = (D + kWarpSize - 1) / kWarpSize;
  constexpr int64_t kTargetBlocks = 512, kMinChunk = 64;
  int64_t P = 1;
  if (ntile < kTargetBlocks && M >= 2 * kMinChunk) P = std::min((kTargetBlocks + ntile - 1) / ntile, M / kMinChunk);
  if (P <= 1) {
    layernorm_param_grad_kernel<<<blocks_for(ntile), kThreads, 0, st>>>(x, dy, save_mean, save_invstd, dgamma,
                                                                         dbeta, M, D, 1, M);
    GANGLION_LAUNCH_CHECK("layernorm_backward(dgamma/dbeta)");
    return;
  }
  const int64_t L = (M + P - 1) / P;
  P = (M + L - 1) / L;
  // Partials [P, D] for each wanted output, then one column sum each.
  DeviceScratch part(sizeof(float) * static_cast<size_t>(2 * P * D));
  float* pg = dgamma ? part.as<float>() : nullptr;
  float* pb = dbeta ? part.as<float>() + P * D : nullptr;
  layernorm_param_grad_kernel<<<blocks_for(ntile * P), kThreads, 0, st>>>(x, dy, save_mean, save_invstd, pg, pb, M,
                                                                           D, P, L);
  GANGLION_LAUNCH_CHECK("layernorm_backward(dgamma/dbeta partials)");
  if (dgamma) sum_axis(s, pg, dgamma, 1, P, D, 1.f);
  if (dbeta) sum_axis(s, pb, dbeta, 1, P, D, 1.f);
}

}  // namespace

void layernorm_forward(Stream s, const float* x, const float* gamma, const float* beta, float* y, float* save_mean,
                       float* save_invstd, int64_t M, int64_t D, float eps) {
  if (M <= 0) return;
  cudaStream_t st = as_stream(s);
  if (D <= 1024) {
    const int64_t groups = kThreads / kWarpSize;
    layernorm_forward_kernel<kWarpSize><<<blocks_for((M + groups - 1) / groups), kThreads, 0, st>>>(
        x, gamma, beta, y, save_mean, save_invstd, M, D, eps);
  } else {
    layernorm_forward_kernel<kThreads><<<blocks_for(M), kThreads, 0, st>>>(x, gamma, beta, y, save_mean,
                                                                           save_invstd, M, D, eps);
  }
  GANGLION_LAUNCH_CHECK("layernorm_forward");
}

void layernorm_backward(Stream s, const float* x, const float* dy, const float* gamma, const float* save_mean,
                        const float* save_invstd, float* dx, float* dgamma, float* dbeta, int64_t M, int64_t D) {
  if (D <= 0) return;
  cudaStream_t st = as_stream(s);
  if (M > 0) {
    if (D <= 1024) {
      const int64_t groups = kThreads / kWarpSize;
      layernorm_dx_kernel<kWarpSize><<<blocks_for((M + groups - 1) / groups), kThreads, 0, st>>>(
          x, dy, gamma, save_mean, save_invstd, dx, M, D);
    } else {
      layernorm_dx_kernel<kThreads><<<blocks_for(M), kThreads, 0, st>>>(x, dy, gamma, save_mean, save_invstd, dx,
                                                                        M, D);
    }
    GANGLION_LAUNCH_CHECK("layernorm_backward(dx)");
  }
  if (dgamma || dbeta) param_grads(st, s, x, dy, save_mean, save_invstd, dgamma, dbeta, M, D);
}

}  // namespace ganglion::cuda
