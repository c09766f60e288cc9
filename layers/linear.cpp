// layers/linear.cpp — the Linear layer.
#include "layers/linear.h"

#include "core/ops.h"
#include "layers/init.h"

namespace ganglion {

Linear::Linear(int64_t in, int64_t out, Generator& g, bool has_bias) : in_features(in), out_features(out) {
  if (in <= 0 || out <= 0)
    throw Error("Linear: in_features and out_features must be positive, got " + std::to_string(in) + ", " +
                std::to_string(out));
  weight = register_parameter("weight", Tensor::empty({out, in}));
  if (has_bias) bias = register_parameter("bias", Tensor::empty({out}));
  default_linear_conv_init_(weight, bias, g);
}

Tensor Linear::forward(const Tensor& x) {
  if (x.dim() != 2 || x.size(1) != in_features)
    throw Error("Linear(" + std::to_string(in_features) + ", " + std::to_string(out_features) +
                "): expected input [N, " + std::to_string(in_features) + "], got " + shape_str(x.shape()));
  return linear(x, weight, bias);
}

std::string Linear::name() const {
  return "Linear(in_features=" + std::to_string(in_features) + ", out_features=" + std::to_string(out_features) +
         ", bias=" + (bias.defined() ? "True" : "False") + ")";
}

}  // namespace ganglion
