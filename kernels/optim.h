// kernels/optim.h — fused optimiser updates over a flat parameter buffer, with PyTorch's semantics.
// Twins: kernels/cpu/optim.cpp, kernels/cuda/optim.cu.
#pragma once
#include "kernels/common.h"

namespace ganglion {

// Adam (torch.optim.Adam, L2 weight decay added to the gradient, bias correction with `step` >= 1):
//   g' = g + wd*p; m = b1*m + (1-b1)*g'; v = b2*v + (1-b2)*g'^2;
//   p -= lr/(1-b1^step) * m / (sqrt(v)/sqrt(1-b2^step) + eps).            p, m, v updated in place.
// RMSprop (torch.optim.RMSprop, centered=False, momentum=0):
//   g' = g + wd*p; sq = alpha*sq + (1-alpha)*g'^2; p -= lr * g' / (sqrt(sq) + eps).
// SGD (torch.optim.SGD, dampening 0, nesterov off): g' = g + wd*p; if momentum != 0:
//   buf = first_step ? g' : momentum*buf + g'; g' = buf. p -= lr*g'. buf may be null when momentum == 0.
#define GANGLION_OPTIM_DECLS                                                                                 \
  void adam_update(Stream s, float* p, const float* g, float* m, float* v, int64_t n, float lr, float beta1,  \
                   float beta2, float eps, float weight_decay, int64_t step);                                 \
  void rmsprop_update(Stream s, float* p, const float* g, float* sq, int64_t n, float lr, float alpha,        \
                      float eps, float weight_decay);                                                         \
  void sgd_update(Stream s, float* p, const float* g, float* buf, int64_t n, float lr, float momentum,        \
                  float weight_decay, bool first_step);

namespace cpu {
GANGLION_OPTIM_DECLS
}
namespace cuda {
GANGLION_OPTIM_DECLS
}

}  // namespace ganglion
