// kernels/batchnorm.h — batch normalisation over [N, C, L] (L = H*W for 2-D, 1 for 1-D): training forward with
// batch statistics and running-stat update, eval forward, and the fused backward.
// Twins: kernels/cpu/batchnorm.cpp, kernels/cuda/batchnorm.cu; cuDNN in kernels/cuda/cudnn_batchnorm.cpp.
#pragma once
#include "kernels/common.h"

namespace ganglion {

// Training forward. gamma/beta may be null (no affine: 1 and 0). Ensures, per channel c:
//   mean_c, var_c (biased) over N*L values; y = (x - mean_c) * invstd_c * gamma_c + beta_c with
//   invstd_c = 1/sqrt(var_c + eps); save_mean[c] = mean_c, save_invstd[c] = invstd_c (overwritten).
//   If running_mean/running_var are non-null: running = (1-momentum)*running + momentum*stat, where the variance
//   used is the unbiased one (N*L/(N*L-1)), as PyTorch does.
// Eval forward uses running_mean/running_var instead and writes nothing else.
// Backward (given the saved statistics): dx, and dgamma/dbeta when non-null (overwritten).
//   dx = gamma*invstd * (dy - mean(dy) - xhat * mean(dy*xhat)), xhat = (x-mean)*invstd; means over N*L.
#define GANGLION_BATCHNORM_DECLS                                                                               \
  void batchnorm_forward_train(Stream s, const float* x, const float* gamma, const float* beta, float* y,       \
                               float* save_mean, float* save_invstd, float* running_mean, float* running_var, \
                               int64_t N, int64_t C, int64_t L, float momentum, float eps);                   \
  void batchnorm_forward_eval(Stream s, const float* x, const float* gamma, const float* beta,                 \
                              const float* running_mean, const float* running_var, float* y, int64_t N,       \
                              int64_t C, int64_t L, float eps);                                               \
  void batchnorm_backward(Stream s, const float* x, const float* dy, const float* gamma,                       \
                          const float* save_mean, const float* save_invstd, float* dx, float* dgamma,         \
                          float* dbeta, int64_t N, int64_t C, int64_t L);

namespace cpu {
GANGLION_BATCHNORM_DECLS
}
namespace cuda {
GANGLION_BATCHNORM_DECLS
}
namespace cudnn {
GANGLION_BATCHNORM_DECLS
}

}  // namespace ganglion
