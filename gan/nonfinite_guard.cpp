// gan/nonfinite_guard.cpp — the one-reduction finite check of losses and gradients and, on failure, the pass that
// names where the NaN/Inf is (see gan/nonfinite_guard.h).
#include "gan/nonfinite_guard.h"

#include <cmath>
#include <cstdio>

#include "core/autograd.h"
#include "core/ops.h"

namespace ganglion {

NanPolicy parse_nan_policy(const std::string& name) {
  if (name == "stop") return NanPolicy::Stop;
  if (name == "skip") return NanPolicy::Skip;
  if (name == "rollback") return NanPolicy::Rollback;
  throw Error("on_nan (--on-nan) '" + name + "' is not one of: stop, skip, rollback");
}

NamedTensors prefixed(const NamedTensors& params, const std::string& prefix) {
  NamedTensors out;
  out.reserve(params.size());
  for (const auto& [name, t] : params) out.emplace_back(prefix + name, t);
  return out;
}

namespace {

std::string number(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

// The slow pass, run only when the total was not finite: every value read on the host.
std::string locate(const std::vector<NamedLoss>& losses, const NamedTensors& params) {
  for (const NamedLoss& l : losses) {
    double v = l.value.item();
    if (!std::isfinite(v)) return "loss " + l.name + " is " + number(v);
  }
  // Backward visits the parameters from the last registered to the first, so the last one with a bad gradient is
  // where the NaN/Inf entered the backward pass; the ones before it usually only inherit it.
  std::string first;
  std::vector<std::string> others;
  double largest = -1;
  std::string largest_name;
  for (auto it = params.rbegin(); it != params.rend(); ++it) {
    Tensor g = it->second.grad();
    if (!g.defined()) continue;
    std::vector<float> v = g.to_vector();
    int64_t bad = 0;
    double sq = 0;
    for (float x : v) {
      if (!std::isfinite(x)) ++bad;
      else sq += static_cast<double>(x) * x;
    }
    if (bad == 0) {
      if (sq > largest) largest = sq, largest_name = it->first;
      continue;
    }
    if (first.empty())
      first = "gradient of " + it->first + " (" + std::to_string(bad) + " of " + std::to_string(v.size()) +
              " values NaN/Inf)";
    else
      others.push_back(it->first);
  }
  if (!first.empty()) {
    if (others.empty()) return first;
    std::string list;
    for (size_t i = 0; i < others.size() && i < 4; ++i) list += (i ? ", " : "") + others[i];
    if (others.size() > 4) list += ", ...";
    return first + "; " + std::to_string(others.size()) + " earlier parameter(s) inherit it: " + list;
  }
  return "the gradient norm overflowed float32 although every value is finite (largest: " + largest_name +
         ", norm " + number(std::sqrt(largest)) + ")";
}

}  // namespace

GuardResult check_finite(const std::vector<NamedLoss>& losses, const NamedTensors& params) {
  NoGradGuard no_grad;
  Tensor total;
  auto accumulate = [&](const Tensor& t) { total = total.defined() ? add(total, t) : t; };
  for (const NamedLoss& l : losses) accumulate(mul_scalar(l.value.detach(), 0.f));  // 0 when finite, else NaN
  for (const auto& [name, p] : params) {
    Tensor g = p.grad();
    if (g.defined()) accumulate(sum(square(g)));
  }
  GuardResult r;
  if (!total.defined()) return r;
  const double sq = total.item();  // the one host read
  if (std::isfinite(sq)) {
    r.grad_norm = std::sqrt(sq);
    return r;
  }
  r.finite = false;
  r.where = locate(losses, params);
  return r;
}

}  // namespace ganglion
