// gan/losses.cpp — the adversarial losses, written with ops so that they differentiate (twice where needed).
#include "gan/losses.h"

#include "core/ops.h"

namespace ganglion {

const std::vector<std::string>& gan_loss_names() {
  static const std::vector<std::string> names = {"minimax", "nonsaturating", "wasserstein", "hinge", "lsgan"};
  return names;
}

GanLoss parse_gan_loss(const std::string& name) {
  const auto& n = gan_loss_names();
  for (size_t i = 0; i < n.size(); ++i)
    if (n[i] == name) return static_cast<GanLoss>(i);
  std::string list;
  for (const auto& s : n) list += (list.empty() ? "" : ", ") + s;
  throw Error("unknown loss '" + name + "' (expected one of: " + list + ")");
}

std::string gan_loss_name(GanLoss l) { return gan_loss_names().at(static_cast<size_t>(l)); }

namespace {
// mean BCE of logits x against a constant target t: t*softplus(-x) + (1-t)*softplus(x).
Tensor bce_const(const Tensor& x, float t) {
  if (t == 1.f) return mean(softplus(neg(x)));
  if (t == 0.f) return mean(softplus(x));
  return add(mul_scalar(mean(softplus(neg(x))), t), mul_scalar(mean(softplus(x)), 1.f - t));
}
}  // namespace

Tensor d_loss(GanLoss l, const Tensor& real, const Tensor& fake, float s) {
  switch (l) {
    case GanLoss::Minimax:
    case GanLoss::NonSaturating:
      return add(bce_const(real, 1.f - s), bce_const(fake, 0.f));
    case GanLoss::Wasserstein:
      return sub(mean(fake), mean(real));
    case GanLoss::Hinge:
      return add(mean(relu(1.f - real)), mean(relu(add_scalar(fake, 1.f))));
    case GanLoss::LeastSquares:
      return mul_scalar(add(mean(square(add_scalar(real, -(1.f - s)))), mean(square(fake))), 0.5f);
  }
  throw Error("d_loss: unknown loss");
}

Tensor g_loss(GanLoss l, const Tensor& fake) {
  switch (l) {
    case GanLoss::Minimax:
      return neg(bce_const(fake, 0.f));
    case GanLoss::NonSaturating:
      return bce_const(fake, 1.f);
    case GanLoss::Wasserstein:
    case GanLoss::Hinge:
      return neg(mean(fake));
    case GanLoss::LeastSquares:
      return mul_scalar(mean(square(add_scalar(fake, -1.f))), 0.5f);
  }
  throw Error("g_loss: unknown loss");
}

}  // namespace ganglion
