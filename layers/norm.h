// layers/norm.h — BatchNorm1d/BatchNorm2d (batch statistics in training, running statistics in eval) and
// LayerNorm over trailing dimensions, with PyTorch's parameters, buffers and defaults. There is no
// num_batches_tracked buffer: with a fixed momentum PyTorch never reads it, so it is left out of state_dict.
#pragma once
#include "core/ops.h"
#include "layers/module.h"

namespace ganglion {

struct BatchNormArgs {
  float eps = 1e-5f;
  float momentum = 0.1f;  // running = (1-momentum)*running + momentum*batch statistic
  bool affine = true;
  bool track_running_stats = true;
};

// The shared part of BatchNorm1d and BatchNorm2d. Parameters weight (ones) and bias (zeros) of shape [C] when
// affine; buffers running_mean (zeros) and running_var (ones) when track_running_stats. Without running stats
// the batch statistics are used in eval too, as PyTorch does.
class BatchNorm : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string name() const override;

  int64_t num_features;
  BatchNormArgs args;
  Tensor weight, bias;                 // [C] or undefined
  Tensor running_mean, running_var;    // [C] or undefined

 protected:
  BatchNorm(const char* kind, int64_t num_features, BatchNormArgs args);
  // Checks x's rank for this kind and returns it as [N, C] or [N, C, H, W] for the batch_norm op.
  virtual Tensor as_op_input(const Tensor& x) const = 0;
  const char* kind_;
};

// x [N, C] or [N, C, L].
class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(int64_t num_features, BatchNormArgs args = {});

 protected:
  Tensor as_op_input(const Tensor& x) const override;
};

// x [N, C, H, W].
class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(int64_t num_features, BatchNormArgs args = {});

 protected:
  Tensor as_op_input(const Tensor& x) const override;
};

// Normalises over the trailing dimensions equal to normalized_shape; weight (ones) and bias (zeros) of that
// shape when elementwise_affine.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, float eps = 1e-5f, bool elementwise_affine = true);
  Tensor forward(const Tensor& x) override;
  std::string name() const override;

  Shape normalized_shape;
  float eps;
  Tensor weight, bias;
};

}  // namespace ganglion
