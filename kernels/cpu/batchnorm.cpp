// kernels/cpu/batchnorm.cpp — CPU twin of kernels/batchnorm.h: batch normalisation over [N, C, L] with batch
// statistics (two passes in double), the eval forward from running statistics, and the fused backward.
// Channels are independent, so OpenMP splits over C.
#include "kernels/batchnorm.h"

#include <cmath>

namespace ganglion::cpu {
namespace {

constexpr int64_t kParallelMin = 32768;

// Calls f(c) for every channel, in parallel when the tensor is large.
template <class F>
void for_each_channel(int64_t N, int64_t C, int64_t L, F f) {
#pragma omp parallel for schedule(static) if (N * C * L > kParallelMin && C > 1)
  for (int64_t c = 0; c < C; ++c) f(c);
}

// Calls f(v) on a reference to every element of channel c of a [N, C, L] tensor.
template <class T, class F>
void visit_channel(T* x, int64_t N, int64_t C, int64_t L, int64_t c, F f) {
  for (int64_t n = 0; n < N; ++n) {
    T* row = x + (n * C + c) * L;
    for (int64_t l = 0; l < L; ++l) f(row[l], n * C * L + c * L + l);
  }
}

}  // namespace

void batchnorm_forward_train(Stream, const float* x, const float* gamma, const float* beta, float* y,
                             float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                             int64_t N, int64_t C, int64_t L, float momentum, float eps) {
  const int64_t count = N * L;
  for_each_channel(N, C, L, [&](int64_t c) {
    double sum = 0.0;
    visit_channel(x, N, C, L, c, [&](const float& v, int64_t) { sum += v; });
    const double mean = count > 0 ? sum / count : 0.0;
    double ss = 0.0;
    visit_channel(x, N, C, L, c, [&](const float& v, int64_t) { ss += (v - mean) * (v - mean); });
    const double var = count > 0 ? ss / count : 0.0;
    const float meanf = static_cast<float>(mean);
    const float invstd = static_cast<float>(1.0 / std::sqrt(var + eps));
    const float g = gamma ? gamma[c] : 1.f, b = beta ? beta[c] : 0.f;
    visit_channel(x, N, C, L, c, [&](const float& v, int64_t i) { y[i] = (v - meanf) * invstd * g + b; });
    save_mean[c] = meanf;
    save_invstd[c] = invstd;
    if (running_mean) running_mean[c] = (1.f - momentum) * running_mean[c] + momentum * meanf;
    if (running_var) {
      // The unbiased variance, as PyTorch keeps. One value per channel has none (PyTorch refuses that input);
      // the biased one (0) is used rather than dividing by zero.
      const double unbiased = count > 1 ? ss / (count - 1) : var;
      running_var[c] = (1.f - momentum) * running_var[c] + momentum * static_cast<float>(unbiased);
    }
  });
}

void batchnorm_forward_eval(Stream, const float* x, const float* gamma, const float* beta,
                            const float* running_mean, const float* running_var, float* y, int64_t N, int64_t C,
                            int64_t L, float eps) {
  for_each_channel(N, C, L, [&](int64_t c) {
    const float mean = running_mean[c];
    const float invstd = static_cast<float>(1.0 / std::sqrt(static_cast<double>(running_var[c]) + eps));
    const float g = gamma ? gamma[c] : 1.f, b = beta ? beta[c] : 0.f;
    visit_channel(x, N, C, L, c, [&](const float& v, int64_t i) { y[i] = (v - mean) * invstd * g + b; });
  });
}

void batchnorm_backward(Stream, const float* x, const float* dy, const float* gamma, const float* save_mean,
                        const float* save_invstd, float* dx, float* dgamma, float* dbeta, int64_t N, int64_t C,
                        int64_t L) {
  const int64_t count = N * L;
  for_each_channel(N, C, L, [&](int64_t c) {
    const double mean = save_mean[c], invstd = save_invstd[c];
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    visit_channel(x, N, C, L, c, [&](const float& v, int64_t i) {
      sum_dy += dy[i];
      sum_dy_xhat += dy[i] * ((v - mean) * invstd);
    });
    if (dgamma) dgamma[c] = static_cast<float>(sum_dy_xhat);
    if (dbeta) dbeta[c] = static_cast<float>(sum_dy);
    const double mean_dy = count > 0 ? sum_dy / count : 0.0;
    const double mean_dy_xhat = count > 0 ? sum_dy_xhat / count : 0.0;
    const double k = (gamma ? gamma[c] : 1.0) * invstd;
    visit_channel(x, N, C, L, c, [&](const float& v, int64_t i) {
      const double xhat = (v - mean) * invstd;
      dx[i] = static_cast<float>(k * (dy[i] - mean_dy - xhat * mean_dy_xhat));
    });
  });
}

}  // namespace ganglion::cpu
