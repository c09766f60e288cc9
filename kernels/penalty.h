// kernels/penalty.h — the gradient-penalty pieces of WGAN-GP: per-sample interpolation, and the per-sample
// gradient norm with the penalty and its backward, each in one kernel.
// Twins: kernels/cpu/penalty.cpp, kernels/cuda/penalty.cu.
#pragma once
#include "kernels/common.h"

namespace ganglion {

// interpolate: x, xt, out are [N, D]; eps [N]. Ensures out[i,:] = eps[i]*x[i,:] + (1-eps[i])*xt[i,:].
// penalty_forward: g [N, D]. Ensures norms[i] = ||g[i,:]||_2 and *loss = lambda/N * sum_i (norms[i]-target)^2
//   (loss is a single float in the twin's memory; both overwritten).
// penalty_backward: ensures dg[i,:] = dloss[0] * lambda*2/N * (norms[i]-target) * g[i,:] / max(norms[i], 1e-12)
//   (overwrites dg; dloss is a single float in the twin's memory).
#define GANGLION_PENALTY_DECLS                                                                                \
  void interpolate(Stream s, const float* x, const float* xt, const float* eps, float* out, int64_t N,         \
                   int64_t D);                                                                                 \
  void gradient_penalty_forward(Stream s, const float* g, float* norms, float* loss, int64_t N, int64_t D,     \
                                float lambda, float target);                                                   \
  void gradient_penalty_backward(Stream s, const float* g, const float* norms, const float* dloss, float* dg,   \
                                 int64_t N, int64_t D, float lambda, float target);

namespace cpu {
GANGLION_PENALTY_DECLS
}
namespace cuda {
GANGLION_PENALTY_DECLS
}

}  // namespace ganglion
