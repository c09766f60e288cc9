// layers/optim.cpp — the Optimizer base (skipping parameters without a gradient, lazily made state, state_dict)
// and the Adam, RMSprop and SGD updates.
#include "layers/optim.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <set>

#include "core/autograd.h"
#include "core/ops.h"

namespace ganglion {

namespace {

// Counters (steps) are stored as 1-element I32 tensors; F32 is accepted on load too.
Tensor count_tensor(int64_t n) {
  if (n > INT32_MAX) throw Error("Optimizer::state_dict: count " + std::to_string(n) + " does not fit in int32");
  Tensor t = Tensor::empty({1}, Device::cpu(), DType::I32);
  t.data_i32()[0] = static_cast<int32_t>(n);
  return t;
}

int64_t read_count(const TensorMap& state, const std::string& key, const char* kind) {
  const std::string who = std::string(kind) + "::load_state_dict: ";
  auto it = state.find(key);
  if (it == state.end()) throw Error(who + "missing key '" + key + "'");
  const Tensor& t = it->second;
  if (!t.defined() || t.numel() != 1)
    throw Error(who + "'" + key + "' must hold one value, got " +
                (t.defined() ? shape_str(t.shape()) : std::string("undefined")));
  if (t.dtype() == DType::I32) {
    const int32_t v = t.device().is_cpu() ? t.data_i32()[0] : t.to(Device::cpu()).data_i32()[0];
    if (v < 0) throw Error(who + "'" + key + "' is negative: " + std::to_string(v));
    return v;
  }
  const float v = t.item();
  if (!(v >= 0.f && v <= 16777216.f) || v != std::floor(v))
    throw Error(who + "'" + key + "' is not a valid count: " + std::to_string(v));
  return static_cast<int64_t>(v);
}

}  // namespace

Optimizer::Optimizer(std::vector<Tensor> params, float lr)
    : params_(std::move(params)), lr_(lr), param_steps_(params_.size(), 0), state_(params_.size()) {
  for (size_t i = 0; i < params_.size(); ++i)
    if (!params_[i].defined()) throw Error("Optimizer: parameter " + std::to_string(i) + " is undefined");
  if (!(lr >= 0.f)) throw Error("Optimizer: invalid learning rate " + std::to_string(lr));
}

Tensor& Optimizer::state(size_t i, const std::string& name) {
  Tensor& p = params_[i];
  Tensor& s = state_[i][name];
  if (!s.defined()) s = zeros(p.shape(), p.device());
  else if (s.device() != p.device()) s = s.to(p.device());  // the parameter moved since the last step
  return s;
}

void Optimizer::step() {
  NoGradGuard no_grad;
  ++steps_;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    Tensor g = p.grad();
    if (!g.defined()) continue;
    if (g.shape() != p.shape() || g.device() != p.device())
      throw Error(std::string(kind()) + "::step: parameter " + std::to_string(i) + " " + shape_str(p.shape()) +
                  " on " + p.device().str() + " has a gradient " + shape_str(g.shape()) + " on " +
                  g.device().str());
    ++param_steps_[i];
    update(i, p, g);
  }
}

void Optimizer::zero_grad() {
  for (auto& p : params_) p.zero_grad();
}

TensorMap Optimizer::state_dict() const {
  TensorMap out;
  out["step"] = count_tensor(steps_);
  out["lr"] = from_vector({lr_}, {1});
  for (size_t i = 0; i < params_.size(); ++i) {
    if (param_steps_[i] == 0) continue;
    const std::string prefix = "param." + std::to_string(i) + ".";
    out[prefix + "step"] = count_tensor(param_steps_[i]);
    for (const auto& [name, t] : state_[i]) out[prefix + name] = t.detach();
  }
  return out;
}

void Optimizer::load_state_dict(const TensorMap& state) {
  const std::string who = std::string(kind()) + "::load_state_dict: ";
  const std::vector<std::string> names = state_names();
  const int64_t steps = read_count(state, "step", kind());
  auto lr_it = state.find("lr");
  if (lr_it == state.end()) throw Error(who + "missing key 'lr'");

  // Which parameters have state, and is every key one we know?
  std::set<size_t> with_state;
  for (const auto& [key, t] : state) {
    if (key == "step" || key == "lr") continue;
    size_t i = 0, used = 0;
    bool ok = key.rfind("param.", 0) == 0;
    if (ok) {
      try {
        i = std::stoul(key.substr(6), &used);
      } catch (const std::exception&) {
        ok = false;
      }
    }
    const std::string rest = ok ? key.substr(6 + used) : "";
    ok = ok && !rest.empty() && rest[0] == '.';
    const std::string field = ok ? rest.substr(1) : "";
    ok = ok && (field == "step" || std::find(names.begin(), names.end(), field) != names.end());
    if (!ok) throw Error(who + "unexpected key '" + key + "'");
    if (i >= params_.size())
      throw Error(who + "'" + key + "' names parameter " + std::to_string(i) + " but there are " +
                  std::to_string(params_.size()));
    if (field != "step" && (!t.defined() || t.shape() != params_[i].shape()))
      throw Error(who + "'" + key + "' has shape " + (t.defined() ? shape_str(t.shape()) : "undefined") +
                  " but parameter " + std::to_string(i) + " has shape " + shape_str(params_[i].shape()));
    with_state.insert(i);
  }

  std::vector<int64_t> param_steps(params_.size(), 0);
  std::vector<std::map<std::string, Tensor>> new_state(params_.size());
  NoGradGuard no_grad;
  for (size_t i : with_state) {
    const std::string prefix = "param." + std::to_string(i) + ".";
    param_steps[i] = read_count(state, prefix + "step", kind());
    for (const auto& name : names) {
      auto it = state.find(prefix + name);
      if (it == state.end()) throw Error(who + "missing key '" + prefix + name + "'");
      Tensor s = zeros(params_[i].shape(), params_[i].device());
      copy_(s, it->second);
      new_state[i][name] = s;
    }
  }
  steps_ = steps;
  lr_ = lr_it->second.item();
  param_steps_ = std::move(param_steps);
  state_ = std::move(new_state);
}

Adam::Adam(std::vector<Tensor> params, float lr, float b1, float b2, float e, float wd)
    : Optimizer(std::move(params), lr), beta1(b1), beta2(b2), eps(e), weight_decay(wd) {
  if (!(b1 >= 0.f && b1 < 1.f) || !(b2 >= 0.f && b2 < 1.f))
    throw Error("Adam: betas must be in [0, 1), got (" + std::to_string(b1) + ", " + std::to_string(b2) + ")");
}

void Adam::update(size_t i, Tensor& p, const Tensor& g) {
  Tensor& m = state(i, "exp_avg");
  Tensor& v = state(i, "exp_avg_sq");
  adam_update_(p, g, m, v, lr(), beta1, beta2, eps, weight_decay, param_steps(i));
}

RMSprop::RMSprop(std::vector<Tensor> params, float lr, float a, float e, float wd)
    : Optimizer(std::move(params), lr), alpha(a), eps(e), weight_decay(wd) {
  if (!(a >= 0.f && a <= 1.f)) throw Error("RMSprop: alpha must be in [0, 1], got " + std::to_string(a));
}

void RMSprop::update(size_t i, Tensor& p, const Tensor& g) {
  rmsprop_update_(p, g, state(i, "square_avg"), lr(), alpha, eps, weight_decay);
}

SGD::SGD(std::vector<Tensor> params, float lr, float mom, float wd)
    : Optimizer(std::move(params), lr), momentum(mom), weight_decay(wd) {
  if (!(mom >= 0.f)) throw Error("SGD: momentum must be >= 0, got " + std::to_string(mom));
}

std::vector<std::string> SGD::state_names() const {
  if (momentum == 0.f) return {};
  return {"momentum_buffer"};
}

void SGD::update(size_t i, Tensor& p, const Tensor& g) {
  Tensor none;
  Tensor& buf = momentum == 0.f ? none : state(i, "momentum_buffer");
  sgd_update_(p, g, buf, lr(), momentum, weight_decay, param_steps(i) == 1);
}

}  // namespace ganglion
