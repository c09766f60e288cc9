// kernels/cpu/optim.cpp — CPU twin of kernels/optim.h: Adam, RMSprop and SGD updates over a flat buffer, with
// torch.optim's per-element arithmetic (bias corrections computed in double on the host, as Python does).
#include "kernels/optim.h"

#include <cmath>

namespace ganglion::cpu {
namespace {

constexpr int64_t kParallelMin = 32768;

// f(i) for every i < n, in parallel when n is large.
template <class F>
void for_each(int64_t n, F f) {
#pragma omp parallel for schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) f(i);
}

// g + wd*p, skipped when wd == 0 (as PyTorch does; 0*inf would otherwise make a NaN).
inline float decayed(float g, float p, float wd) { return wd != 0.f ? g + wd * p : g; }

}  // namespace

void adam_update(Stream, float* p, const float* g, float* m, float* v, int64_t n, float lr, float beta1,
                 float beta2, float eps, float weight_decay, int64_t step) {
  const double bc1 = 1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(step));
  const float step_size = static_cast<float>(lr / bc1);
  const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  for_each(n, [&](int64_t i) {
    const float gi = decayed(g[i], p[i], weight_decay);
    m[i] = beta1 * m[i] + (1.f - beta1) * gi;
    v[i] = beta2 * v[i] + (1.f - beta2) * gi * gi;
    const float denom = std::sqrt(v[i]) / bc2_sqrt + eps;
    p[i] -= step_size * m[i] / denom;
  });
}

void rmsprop_update(Stream, float* p, const float* g, float* sq, int64_t n, float lr, float alpha, float eps,
                    float weight_decay) {
  for_each(n, [&](int64_t i) {
    const float gi = decayed(g[i], p[i], weight_decay);
    sq[i] = alpha * sq[i] + (1.f - alpha) * gi * gi;
    p[i] -= lr * gi / (std::sqrt(sq[i]) + eps);
  });
}

void sgd_update(Stream, float* p, const float* g, float* buf, int64_t n, float lr, float momentum,
                float weight_decay, bool first_step) {
  for_each(n, [&](int64_t i) {
    float gi = decayed(g[i], p[i], weight_decay);
    if (momentum != 0.f) {
      buf[i] = first_step ? gi : momentum * buf[i] + gi;
      gi = buf[i];
    }
    p[i] -= lr * gi;
  });
}

}  // namespace ganglion::cpu
