// kernels/cuda/optim.cu — CUDA twin of kernels/optim.h: fused Adam, RMSprop and SGD updates, one grid-stride
// kernel each, reading and writing every state buffer once. Adam's bias corrections are computed in double on
// the host, as torch.optim (and the CPU twin) do.
#include <cmath>

#include "kernels/cuda/check.h"
#include "kernels/optim.h"

namespace ganglion::cuda {
namespace {

constexpr int kThreads = 256;

// g + wd*p, skipped when wd == 0 (as PyTorch does; 0*inf would otherwise make a NaN).
__device__ __forceinline__ float decayed(float g, float p, float wd) { return wd != 0.f ? g + wd * p : g; }

__global__ void adam_kernel(float* __restrict__ p, const float* __restrict__ g, float* __restrict__ m,
                            float* __restrict__ v, int64_t n, float beta1, float beta2, float eps, float wd,
                            float step_size, float bc2_sqrt) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float pi = p[i];
    const float gi = decayed(g[i], pi, wd);
    const float mi = beta1 * m[i] + (1.f - beta1) * gi;
    const float vi = beta2 * v[i] + (1.f - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    const float denom = sqrtf(vi) / bc2_sqrt + eps;
    p[i] = pi - step_size * mi / denom;
  }
}

__global__ void rmsprop_kernel(float* __restrict__ p, const float* __restrict__ g, float* __restrict__ sq,
                               int64_t n, float lr, float alpha, float eps, float wd) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float pi = p[i];
    const float gi = decayed(g[i], pi, wd);
    const float si = alpha * sq[i] + (1.f - alpha) * gi * gi;
    sq[i] = si;
    p[i] = pi - lr * gi / (sqrtf(si) + eps);
  }
}

// buf is read/written only when momentum != 0 (it may be null otherwise).
__global__ void sgd_kernel(float* __restrict__ p, const float* __restrict__ g, float* __restrict__ buf, int64_t n,
                           float lr, float momentum, float wd, bool first_step) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float pi = p[i];
    float gi = decayed(g[i], pi, wd);
    if (momentum != 0.f) {
      gi = first_step ? gi : momentum * buf[i] + gi;
      buf[i] = gi;
    }
    p[i] = pi - lr * gi;
  }
}

}  // namespace

void adam_update(Stream s, float* p, const float* g, float* m, float* v, int64_t n, float lr, float beta1,
                 float beta2, float eps, float weight_decay, int64_t step) {
  if (n <= 0) return;
  if (step < 1) throw Error("adam_update: step must be >= 1, got " + std::to_string(step));
  const double bc1 = 1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(step));
  const float step_size = static_cast<float>(lr / bc1);
  const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  adam_kernel<<<grid_for(n, kThreads), kThreads, 0, as_stream(s)>>>(p, g, m, v, n, beta1, beta2, eps, weight_decay,
                                                                     step_size, bc2_sqrt);
  GANGLION_LAUNCH_CHECK("adam_update");
}

void rmsprop_update(Stream s, float* p, const float* g, float* sq, int64_t n, float lr, float alpha, float eps,
                    float weight_decay) {
  if (n <= 0) return;
  rmsprop_kernel<<<grid_for(n, kThreads), kThreads, 0, as_stream(s)>>>(p, g, sq, n, lr, alpha, eps, weight_decay);
  GANGLION_LAUNCH_CHECK("rmsprop_update");
}

void sgd_update(Stream s, float* p, const float* g, float* buf, int64_t n, float lr, float momentum,
                float weight_decay, bool first_step) {
  if (n <= 0) return;
  if (momentum != 0.f && buf == nullptr) throw Error("sgd_update: momentum != 0 needs a momentum buffer");
  sgd_kernel<<<grid_for(n, kThreads), kThreads, 0, as_stream(s)>>>(p, g, buf, n, lr, momentum, weight_decay,
                                                                    first_step);
  GANGLION_LAUNCH_CHECK("sgd_update");
}

}  // namespace ganglion::cuda
