// layers/norm.cpp — BatchNorm1d/2d and LayerNorm over the batch_norm and layer_norm ops.
#include "layers/norm.h"

#include <sstream>

namespace ganglion {

namespace {
std::string float_str(float v) {
  std::ostringstream os;
  os << v;
  return os.str();
}
}  // namespace

BatchNorm::BatchNorm(const char* kind, int64_t c, BatchNormArgs a) : num_features(c), args(a), kind_(kind) {
  if (c <= 0) throw Error(std::string(kind) + ": num_features must be positive, got " + std::to_string(c));
  if (a.affine) {
    weight = register_parameter("weight", ones({c}));
    bias = register_parameter("bias", zeros({c}));
  }
  if (a.track_running_stats) {
    running_mean = register_buffer("running_mean", zeros({c}));
    running_var = register_buffer("running_var", ones({c}));
  }
}

Tensor BatchNorm::forward(const Tensor& x) {
  Tensor in = as_op_input(x);
  if (in.size(1) != num_features)
    throw Error(name() + ": expected " + std::to_string(num_features) + " channels in dimension 1, got input " +
                shape_str(x.shape()));
  const bool use_batch_stats = is_training() || !args.track_running_stats;
  Tensor y = batch_norm(in, weight, bias, running_mean, running_var, use_batch_stats, args.momentum, args.eps);
  return y.shape() == x.shape() ? y : reshape(y, x.shape());
}

std::string BatchNorm::name() const {
  return std::string(kind_) + "(" + std::to_string(num_features) + ", eps=" + float_str(args.eps) +
         ", momentum=" + float_str(args.momentum) + ", affine=" + (args.affine ? "True" : "False") +
         ", track_running_stats=" + (args.track_running_stats ? "True" : "False") + ")";
}

BatchNorm1d::BatchNorm1d(int64_t c, BatchNormArgs a) : BatchNorm("BatchNorm1d", c, a) {}

Tensor BatchNorm1d::as_op_input(const Tensor& x) const {
  if (x.dim() == 2) return x;
  if (x.dim() == 3) return reshape(x, {x.size(0), x.size(1), x.size(2), 1});
  throw Error(name() + ": expected input [N, C] or [N, C, L], got " + shape_str(x.shape()));
}

BatchNorm2d::BatchNorm2d(int64_t c, BatchNormArgs a) : BatchNorm("BatchNorm2d", c, a) {}

Tensor BatchNorm2d::as_op_input(const Tensor& x) const {
  if (x.dim() == 4) return x;
  throw Error(name() + ": expected input [N, C, H, W], got " + shape_str(x.shape()));
}

LayerNorm::LayerNorm(Shape shape, float e, bool affine) : normalized_shape(std::move(shape)), eps(e) {
  if (normalized_shape.empty() || shape_numel(normalized_shape) <= 0)
    throw Error("LayerNorm: normalized_shape must be non-empty with positive sizes, got " +
                shape_str(normalized_shape));
  if (affine) {
    weight = register_parameter("weight", ones(normalized_shape));
    bias = register_parameter("bias", zeros(normalized_shape));
  }
}

Tensor LayerNorm::forward(const Tensor& x) {
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  bool ok = x.dim() >= k;
  for (int64_t i = 0; ok && i < k; ++i) ok = x.size(x.dim() - k + i) == normalized_shape[i];
  if (!ok)
    throw Error(name() + ": input " + shape_str(x.shape()) + " must end with " + shape_str(normalized_shape));
  return layer_norm(x, k, weight, bias, eps);
}

std::string LayerNorm::name() const {
  return "LayerNorm(" + shape_str(normalized_shape) + ", eps=" + float_str(eps) +
         ", elementwise_affine=" + (weight.defined() ? "True" : "False") + ")";
}

}  // namespace ganglion
