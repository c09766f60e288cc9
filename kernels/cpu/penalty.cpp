// kernels/cpu/penalty.cpp — CPU twin of kernels/penalty.h: WGAN-GP interpolation between real and fake samples,
// and the per-sample gradient-norm penalty with its backward. Norms accumulate in double.
#include "kernels/penalty.h"

#include <algorithm>
#include <cmath>

namespace ganglion::cpu {
namespace {

constexpr int64_t kParallelMin = 32768;

bool parallel(int64_t N, int64_t D) { return N * D > kParallelMin && N > 1; }

}  // namespace

void interpolate(Stream, const float* x, const float* xt, const float* eps, float* out, int64_t N, int64_t D) {
#pragma omp parallel for schedule(static) if (parallel(N, D))
  for (int64_t i = 0; i < N; ++i) {
    const float e = eps[i], f = 1.f - eps[i];
    for (int64_t d = 0; d < D; ++d) out[i * D + d] = e * x[i * D + d] + f * xt[i * D + d];
  }
}

void gradient_penalty_forward(Stream, const float* g, float* norms, float* loss, int64_t N, int64_t D,
                              float lambda, float target) {
  double total = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : total) if (parallel(N, D))
  for (int64_t i = 0; i < N; ++i) {
    double ss = 0.0;
    for (int64_t d = 0; d < D; ++d) ss += static_cast<double>(g[i * D + d]) * g[i * D + d];
    norms[i] = static_cast<float>(std::sqrt(ss));
    const double dev = static_cast<double>(norms[i]) - target;
    total += dev * dev;
  }
  *loss = N > 0 ? static_cast<float>(lambda * total / N) : 0.f;
}

void gradient_penalty_backward(Stream, const float* g, const float* norms, const float* dloss, float* dg,
                               int64_t N, int64_t D, float lambda, float target) {
  const float k = N > 0 ? dloss[0] * lambda * 2.f / static_cast<float>(N) : 0.f;
#pragma omp parallel for schedule(static) if (parallel(N, D))
  for (int64_t i = 0; i < N; ++i) {
    const float scale = k * (norms[i] - target) / std::max(norms[i], 1e-12f);
    for (int64_t d = 0; d < D; ++d) dg[i * D + d] = scale * g[i * D + d];
  }
}

}  // namespace ganglion::cpu
