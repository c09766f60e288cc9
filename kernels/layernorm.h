// kernels/layernorm.h — layer normalisation of each row of x [M, D] over its D values, with an elementwise
// affine of D values. Twins: kernels/cpu/layernorm.cpp, kernels/cuda/layernorm.cu.
#pragma once
#include "kernels/common.h"

namespace ganglion {

// Forward: mean_m, invstd_m = 1/sqrt(var_m + eps) (biased var) saved (overwritten);
//   y = (x - mean_m) * invstd_m * gamma + beta, gamma/beta may be null (1 and 0).
// Backward: dx (overwritten), dgamma/dbeta (overwritten when non-null), summed over rows.
//   dx = invstd * (dy*gamma - mean_d(dy*gamma) - xhat * mean_d(dy*gamma*xhat)).
#define GANGLION_LAYERNORM_DECLS                                                                             \
  void layernorm_forward(Stream s, const float* x, const float* gamma, const float* beta, float* y,           \
                         float* save_mean, float* save_invstd, int64_t M, int64_t D, float eps);              \
  void layernorm_backward(Stream s, const float* x, const float* dy, const float* gamma,                      \
                          const float* save_mean, const float* save_invstd, float* dx, float* dgamma,         \
                          float* dbeta, int64_t M, int64_t D);

namespace cpu {
GANGLION_LAYERNORM_DECLS
}
namespace cuda {
GANGLION_LAYERNORM_DECLS
}

}  // namespace ganglion
