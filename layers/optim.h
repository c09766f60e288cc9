// layers/optim.h — optimisers over a list of parameters: Adam, RMSprop and SGD with PyTorch's semantics, each
// step one fused update per parameter (adam_update_/rmsprop_update_/sgd_update_). Parameters whose .grad is
// undefined are skipped, as PyTorch does. State tensors are made lazily on the parameter's device; state_dict
// holds everything needed to continue exactly.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/safetensors.h"
#include "core/tensor.h"

namespace ganglion {

// state_dict keys: "step" (number of step() calls), "lr", and per parameter i
// "param.<i>.<state>" (e.g. "param.3.exp_avg") and "param.<i>.step" (its own update count, as PyTorch keeps
// one per parameter). Counters are 1-element I32 tensors. A parameter that was never updated has no entries.
class Optimizer {
 public:
  Optimizer(std::vector<Tensor> params, float lr);
  virtual ~Optimizer() = default;

  void step();
  void zero_grad();  // drops every parameter's .grad
  float lr() const { return lr_; }
  void set_lr(float lr) { lr_ = lr; }
  int64_t step_count() const { return steps_; }
  const std::vector<Tensor>& params() const { return params_; }

  TensorMap state_dict() const;
  // Replaces the whole state. Errors name the unknown key, the bad parameter index or the shape mismatch.
  void load_state_dict(const TensorMap& state);

 protected:
  // Updates parameter i (whose gradient g is defined) in place, using its state tensors.
  virtual void update(size_t i, Tensor& p, const Tensor& g) = 0;
  // The names of the per-parameter state tensors (shaped like the parameter), e.g. {"exp_avg", "exp_avg_sq"}.
  virtual std::vector<std::string> state_names() const = 0;
  virtual const char* kind() const = 0;
  // The state tensor `name` of parameter i, made as zeros on the parameter's device on first use.
  Tensor& state(size_t i, const std::string& name);
  // How many updates parameter i has had, this one included (its "param.<i>.step").
  int64_t param_steps(size_t i) const { return param_steps_[i]; }

 private:
  std::vector<Tensor> params_;
  float lr_;
  int64_t steps_ = 0;
  std::vector<int64_t> param_steps_;
  std::vector<std::map<std::string, Tensor>> state_;
};

// torch.optim.Adam (L2 weight decay added to the gradient, bias-corrected moments).
class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f,
       float weight_decay = 0.f);
  float beta1, beta2, eps, weight_decay;

 protected:
  void update(size_t i, Tensor& p, const Tensor& g) override;
  std::vector<std::string> state_names() const override { return {"exp_avg", "exp_avg_sq"}; }
  const char* kind() const override { return "Adam"; }
};

// torch.optim.RMSprop (not centered, no momentum).
class RMSprop : public Optimizer {
 public:
  RMSprop(std::vector<Tensor> params, float lr = 1e-2f, float alpha = 0.99f, float eps = 1e-8f,
          float weight_decay = 0.f);
  float alpha, eps, weight_decay;

 protected:
  void update(size_t i, Tensor& p, const Tensor& g) override;
  std::vector<std::string> state_names() const override { return {"square_avg"}; }
  const char* kind() const override { return "RMSprop"; }
};

// torch.optim.SGD (dampening 0, no Nesterov); the momentum buffer is made only when momentum != 0.
class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, float lr, float momentum = 0.f, float weight_decay = 0.f);
  float momentum, weight_decay;

 protected:
  void update(size_t i, Tensor& p, const Tensor& g) override;
  std::vector<std::string> state_names() const override;
  const char* kind() const override { return "SGD"; }
};

}  // namespace ganglion
