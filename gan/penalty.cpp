// gan/penalty.cpp — WGAN-GP, R1 and weight clipping, built on grad(..., create_graph=true).
#include "gan/penalty.h"

#include "core/autograd.h"
#include "core/ops.h"

namespace ganglion {

const std::vector<std::string>& penalty_names() {
  static const std::vector<std::string> names = {"none", "gp", "r1", "clip"};
  return names;
}

Penalty parse_penalty(const std::string& name) {
  const auto& n = penalty_names();
  for (size_t i = 0; i < n.size(); ++i)
    if (n[i] == name) return static_cast<Penalty>(i);
  std::string list;
  for (const auto& s : n) list += (list.empty() ? "" : ", ") + s;
  throw Error("unknown penalty '" + name + "' (expected one of: " + list + ")");
}

std::string penalty_name(Penalty p) { return penalty_names().at(static_cast<size_t>(p)); }

namespace {
void check_group(const char* what, const Tensor& x, int64_t group) {
  if (group <= 0 || x.dim() < 1 || x.size(0) % group != 0)
    throw Error(std::string(what) + ": batch " + shape_str(x.shape()) + " is not divisible into groups of " +
                std::to_string(group));
}

// d(sum critic(x))/dx with a graph, reshaped to one row per critic input.
Tensor input_gradient(Module& critic, const Tensor& x, int64_t group) {
  Tensor out = critic(x);
  Tensor g = grad({sum(out)}, {x}, {}, /*create_graph=*/true)[0];
  return reshape(g, {x.size(0) / group, -1});
}
}  // namespace

Tensor wgan_gp(Module& critic, const Tensor& real, const Tensor& fake, float lambda, Generator& g, int64_t group) {
  check_group("wgan_gp", real, group);
  if (real.shape() != fake.shape())
    throw Error("wgan_gp: real " + shape_str(real.shape()) + " and fake " + shape_str(fake.shape()) + " differ");
  const int64_t n = real.size(0);
  Tensor eps = g.rand({n / group, 1}, real.device());
  if (group > 1) eps = expand(eps, {n / group, group});
  Tensor xhat = interpolate(real.detach(), fake.detach(), reshape(eps, {n}));
  xhat.set_requires_grad();
  return gradient_penalty(input_gradient(critic, xhat, group), lambda);
}

Tensor r1_penalty(Module& critic, const Tensor& real, float gamma, int64_t group) {
  check_group("r1_penalty", real, group);
  Tensor x = real.detach().contiguous_copy();
  x.set_requires_grad();
  Tensor g = input_gradient(critic, x, group);
  return mul_scalar(mean(sum(square(g), {1})), 0.5f * gamma);
}

void clip_weights(Module& critic, float c) {
  for (Tensor p : critic.parameters()) {
    Tensor clipped = clamp(p.detach(), -c, c);
    copy_(p, clipped);
  }
}

}  // namespace ganglion
