// kernels/cuda/penalty.cu — CUDA twin of kernels/penalty.h, the WGAN-GP pieces: interpolation between real and
// fake samples; the per-sample gradient norm (a warp per sample when D <= 1024, else a block) followed by one
// single-block kernel that sums the penalty in a fixed order (deterministic, no float atomics); and the
// backward in one elementwise kernel. dloss and loss live in device memory.
#include "kernels/cuda/check.h"
#include "kernels/cuda/reduce_util.cuh"
#include "kernels/penalty.h"

namespace ganglion::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxGrid = 65535LL * 8;

unsigned blocks_for(int64_t units) {
  return static_cast<unsigned>(units < 1 ? 1 : units > kMaxGrid ? kMaxGrid : units);
}

__global__ void interpolate_kernel(const float* __restrict__ x, const float* __restrict__ xt,
                                   const float* __restrict__ eps, float* __restrict__ out, int64_t N, int64_t D) {
  const int64_t n = N * D;
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < n;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float e = eps[k / D];
    out[k] = e * x[k] + (1.f - e) * xt[k];
  }
}

// norms[i] = ||g[i,:]||, TPR threads per sample; the sample loop is block-uniform (see group_reduce).
template <int TPR>
__global__ void __launch_bounds__(kThreads)
    sample_norm_kernel(const float* __restrict__ g, float* __restrict__ norms, int64_t N, int64_t D) {
  __shared__ float scratch[kThreads / kWarpSize];
  constexpr int kGroups = kThreads / TPR;
  const int group = static_cast<int>(threadIdx.x) / TPR, lane = static_cast<int>(threadIdx.x) % TPR;
  for (int64_t base = static_cast<int64_t>(blockIdx.x) * kGroups; base < N;
       base += static_cast<int64_t>(gridDim.x) * kGroups) {
    const int64_t i = base + group;
    float ss = 0.f;
    if (i < N) {
      const float* row = g + i * D;
      for (int64_t d = lane; d < D; d += TPR) ss += row[d] * row[d];
    }
    ss = group_reduce<TPR>(ss, Plus{}, scratch);
    if (i < N && lane == 0) norms[i] = sqrtf(ss);
  }
}

// One block: *loss = lambda * sum_i (norms[i] - target)^2 / N (0 when N == 0).
__global__ void __launch_bounds__(kThreads)
    penalty_loss_kernel(const float* __restrict__ norms, float* __restrict__ loss, int64_t N, float lambda,
                        float target) {
  __shared__ float scratch[kThreads / kWarpSize];
  float total = 0.f;
  for (int64_t i = threadIdx.x; i < N; i += kThreads) {
    const float dev = norms[i] - target;
    total += dev * dev;
  }
  total = group_reduce<kThreads>(total, Plus{}, scratch);
  if (threadIdx.x == 0) *loss = N > 0 ? lambda * total / static_cast<float>(N) : 0.f;
}

__global__ void penalty_backward_kernel(const float* __restrict__ g, const float* __restrict__ norms,
                                        const float* __restrict__ dloss, float* __restrict__ dg, int64_t N,
                                        int64_t D, float lambda, float target) {
  const float k = dloss[0] * lambda * 2.f / static_cast<float>(N);
  const int64_t n = N * D;
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < n;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float norm = norms[e / D];
    dg[e] = k * (norm - target) / fmaxf(norm, 1e-12f) * g[e];
  }
}

}  // namespace

void interpolate(Stream s, const float* x, const float* xt, const float* eps, float* out, int64_t N, int64_t D) {
  if (N <= 0 || D <= 0) return;
  interpolate_kernel<<<grid_for(N * D, kThreads), kThreads, 0, as_stream(s)>>>(x, xt, eps, out, N, D);
  GANGLION_LAUNCH_CHECK("interpolate");
}

void gradient_penalty_forward(Stream s, const float* g, float* norms, float* loss, int64_t N, int64_t D,
                              float lambda, float target) {
  cudaStream_t st = as_stream(s);
  if (N > 0) {
    if (D <= 1024) {
      const int64_t groups = kThreads / kWarpSize;
      sample_norm_kernel<kWarpSize><<<blocks_for((N + groups - 1) / groups), kThreads, 0, st>>>(g, norms, N, D);
    } else {
      sample_norm_kernel<kThreads><<<blocks_for(N), kThreads, 0, st>>>(g, norms, N, D);
    }
    GANGLION_LAUNCH_CHECK("gradient_penalty_forward(norms)");
  }
  penalty_loss_kernel<<<1, kThreads, 0, st>>>(norms, loss, N, lambda, target);
  GANGLION_LAUNCH_CHECK("gradient_penalty_forward(loss)");
}

void gradient_penalty_backward(Stream s, const float* g, const float* norms, const float* dloss, float* dg,
                               int64_t N, int64_t D, float lambda, float target) {
  if (N <= 0 || D <= 0) return;
  penalty_backward_kernel<<<grid_for(N * D, kThreads), kThreads, 0, as_stream(s)>>>(g, norms, dloss, dg, N, D,
                                                                                    lambda, target);
  GANGLION_LAUNCH_CHECK("gradient_penalty_backward");
}

}  // namespace ganglion::cuda
