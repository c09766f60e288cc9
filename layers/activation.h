// layers/activation.h — parameter-free layers: ReLU, LeakyReLU, Tanh, Sigmoid, Flatten, Reshape and Maxout.
#pragma once
#include "core/ops.h"
#include "layers/module.h"

namespace ganglion {

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override { return relu(x); }
  std::string name() const override { return "ReLU()"; }
};

class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(float negative_slope = 0.01f) : negative_slope(negative_slope) {}  // PyTorch's default
  Tensor forward(const Tensor& x) override { return leaky_relu(x, negative_slope); }
  std::string name() const override;
  float negative_slope;
};

class Tanh : public Module {
 public:
  Tensor forward(const Tensor& x) override { return tanh(x); }
  std::string name() const override { return "Tanh()"; }
};

class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& x) override { return sigmoid(x); }
  std::string name() const override { return "Sigmoid()"; }
};

// Flattens dimensions start_dim.. into one (a view): [N, C, H, W] -> [N, C*H*W] for start_dim 1.
class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1) : start_dim(start_dim) {}
  Tensor forward(const Tensor& x) override { return flatten(x, start_dim); }
  std::string name() const override { return "Flatten(start_dim=" + std::to_string(start_dim) + ")"; }
  int64_t start_dim;
};

// Reshapes to the full target shape, batch dimension included, like x.view(shape); one entry may be -1
// (usually the batch: Reshape({-1, 128, 7, 7})).
class Reshape : public Module {
 public:
  explicit Reshape(Shape shape);
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Reshape(" + shape_str(shape) + ")"; }
  Shape shape;
};

// Maxout over groups of `pieces` consecutive features: x [N, F*pieces] -> y [N, F] with
//   y[n, f] = max_{j < pieces} x[n, f*pieces + j],
// i.e. x.view(N, F, pieces).max(2), the grouping of the common PyTorch maxout (and of Goodfellow's pylearn2).
class Maxout : public Module {
 public:
  explicit Maxout(int64_t pieces);
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Maxout(pieces=" + std::to_string(pieces) + ")"; }
  int64_t pieces;
};

}  // namespace ganglion
