// layers/linear.h — Linear: y = x W^T + b with W [out, in] and b [out], as torch.nn.Linear.
#pragma once
#include "core/rng.h"
#include "layers/module.h"

namespace ganglion {

class Linear : public Module {
 public:
  // Initialised as PyTorch does (weight and bias U(±1/sqrt(in))), drawing from g.
  Linear(int64_t in_features, int64_t out_features, Generator& g, bool bias = true);
  Tensor forward(const Tensor& x) override;  // x [N, in] -> [N, out]
  std::string name() const override;

  int64_t in_features, out_features;
  Tensor weight;  // [out, in]
  Tensor bias;    // [out], undefined when bias = false
};

}  // namespace ganglion
