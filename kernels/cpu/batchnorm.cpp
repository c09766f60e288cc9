// kernels/cpu/batchnorm.cpp — CPU twin of kernels/batchnorm.h: batch normalisation over [N, C, L] with batch
// statistics (two passes in double), the eval forward from running statistics, and the fused backward.
// Channels are independent, so OpenMP splits over blocks of channels; each block is swept in memory order.
#include "kernels/batchnorm.h"

#include <algorithm>
#include <cmath>

namespace ganglion::cpu {
namespace {

constexpr int64_t kParallelMin = 32768;
constexpr int64_t kChannelBlock = 64;

// Calls f(c0, c1) for blocks of channels [c0, c1), in parallel when the tensor is large.
template <class F>
void for_each_channel_block(int64_t N, int64_t C, int64_t L, F f) {
  const int64_t blocks = (C + kChannelBlock - 1) / kChannelBlock;
#pragma omp parallel for schedule(static) if (N * C * L > kParallelMin && C > 1)
  for (int64_t b = 0; b < blocks; ++b) f(b * kChannelBlock, std::min(C, (b + 1) * kChannelBlock));
}

// Calls f(v, i, j) on every element of channels [c0, c1) of a [N, C, L] tensor, where i is the element's index
// and j = c - c0. Rows are walked in memory order (n, then c, then l), so each channel still sees its elements
// in (n, l) order — the order of a per-channel loop, hence the same sums — while [N, C] inputs (L == 1) are
// read contiguously instead of with stride C.
template <class F>
void visit_channels(int64_t N, int64_t C, int64_t L, int64_t c0, int64_t c1, F f) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t base = (n * C + c) * L;
      for (int64_t l = 0; l < L; ++l) f(base + l, c - c0);
    }
}

}  // namespace

void batchnorm_forward_train(Stream, const float* x, const float* gamma, const float* beta, float* y,
                             float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                             int64_t N, int64_t C, int64_t L, float momentum, float eps) {
  const int64_t count = N * L;
  for_each_channel_block(N, C, L, [&](int64_t c0, int64_t c1) {
    double sum[kChannelBlock] = {}, ss[kChannelBlock] = {}, mean[kChannelBlock];
    float meanf[kChannelBlock], invstdf[kChannelBlock], gain[kChannelBlock];
    visit_channels(N, C, L, c0, c1, [&](int64_t i, int64_t j) { sum[j] += x[i]; });
    for (int64_t j = 0; j < c1 - c0; ++j) mean[j] = count > 0 ? sum[j] / count : 0.0;
    visit_channels(N, C, L, c0, c1, [&](int64_t i, int64_t j) { ss[j] += (x[i] - mean[j]) * (x[i] - mean[j]); });
    for (int64_t j = 0; j < c1 - c0; ++j) {
      const int64_t c = c0 + j;
      const double var = count > 0 ? ss[j] / count : 0.0;
      meanf[j] = static_cast<float>(mean[j]);
      const float invstd = static_cast<float>(1.0 / std::sqrt(var + eps));
      invstdf[j] = invstd;
      gain[j] = gamma ? gamma[c] : 1.f;
      save_mean[c] = meanf[j];
      save_invstd[c] = invstd;
      if (running_mean) running_mean[c] = (1.f - momentum) * running_mean[c] + momentum * meanf[j];
      if (running_var) {
        // The unbiased variance, as PyTorch keeps. One value per channel has none (PyTorch refuses that input);
        // the biased one (0) is used rather than dividing by zero.
        const double unbiased = count > 1 ? ss[j] / (count - 1) : var;
        running_var[c] = (1.f - momentum) * running_var[c] + momentum * static_cast<float>(unbiased);
      }
    }
    visit_channels(N, C, L, c0, c1, [&](int64_t i, int64_t j) {
      const float b = beta ? beta[c0 + j] : 0.f;
      y[i] = (x[i] - meanf[j]) * invstdf[j] * gain[j] + b;
    });
  });
}

void batchnorm_forward_eval(Stream, const float* x, const float* gamma, const float* beta,
                            const float* running_mean, const float* running_var, float* y, int64_t N, int64_t C,
                            int64_t L, float eps) {
  for_each_channel_block(N, C, L, [&](int64_t c0, int64_t c1) {
    float mean[kChannelBlock], invstd[kChannelBlock], g[kChannelBlock], b[kChannelBlock];
    for (int64_t j = 0; j < c1 - c0; ++j) {
      const int64_t c = c0 + j;
      mean[j] = running_mean[c];
      invstd[j] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(running_var[c]) + eps));
      g[j] = gamma ? gamma[c] : 1.f;
      b[j] = beta ? beta[c] : 0.f;
    }
    visit_channels(N, C, L, c0, c1,
                   [&](int64_t i, int64_t j) { y[i] = (x[i] - mean[j]) * invstd[j] * g[j] + b[j]; });
  });
}

void batchnorm_backward(Stream, const float* x, const float* dy, const float* gamma, const float* save_mean,
                        const float* save_invstd, float* dx, float* dgamma, float* dbeta, int64_t N, int64_t C,
                        int64_t L) {
  const int64_t count = N * L;
  for_each_channel_block(N, C, L, [&](int64_t c0, int64_t c1) {
    double mean[kChannelBlock], invstd[kChannelBlock], sum_dy[kChannelBlock] = {}, sum_dy_xhat[kChannelBlock] = {};
    double mean_dy[kChannelBlock], mean_dy_xhat[kChannelBlock], k[kChannelBlock];
    for (int64_t j = 0; j < c1 - c0; ++j) {
      mean[j] = save_mean[c0 + j];
      invstd[j] = save_invstd[c0 + j];
    }
    visit_channels(N, C, L, c0, c1, [&](int64_t i, int64_t j) {
      sum_dy[j] += dy[i];
      sum_dy_xhat[j] += dy[i] * ((x[i] - mean[j]) * invstd[j]);
    });
    for (int64_t j = 0; j < c1 - c0; ++j) {
      const int64_t c = c0 + j;
      if (dgamma) dgamma[c] = static_cast<float>(sum_dy_xhat[j]);
      if (dbeta) dbeta[c] = static_cast<float>(sum_dy[j]);
      mean_dy[j] = count > 0 ? sum_dy[j] / count : 0.0;
      mean_dy_xhat[j] = count > 0 ? sum_dy_xhat[j] / count : 0.0;
      k[j] = (gamma ? gamma[c] : 1.0) * invstd[j];
    }
    visit_channels(N, C, L, c0, c1, [&](int64_t i, int64_t j) {
      const double xhat = (x[i] - mean[j]) * invstd[j];
      dx[i] = static_cast<float>(k[j] * (dy[i] - mean_dy[j] - xhat * mean_dy_xhat[j]));
    });
  });
}

}  // namespace ganglion::cpu
