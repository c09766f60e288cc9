// core/ops_loss.cpp — the losses (mse, bce_with_logits) as compositions of ops, and the WGAN-GP pieces:
// per-sample interpolation and the fused gradient-penalty op (one kernel forward, one kernel backward).
#include "core/dispatch.h"
#include "core/ops_util.h"
#include "kernels/penalty.h"

namespace ganglion {

namespace {
void check_same_shape(const char* op, const Tensor& a, const Tensor& b, const char* an, const char* bn) {
  detail::check_float(op, a);
  detail::check_float(op, b);
  detail::check_same_device(op, {&a, &b});
  if (a.shape() != b.shape()) {
    throw Error(std::string(op) + ": " + an + " " + shape_str(a.shape()) + " and " + bn + " " + shape_str(b.shape()) +
                " must have the same shape");
  }
}
}  // namespace

Tensor mse_loss(const Tensor& x, const Tensor& target) {
  check_same_shape("mse_loss", x, target, "input", "target");
  return mean(square(sub(x, target)));
}

// mean(softplus(l) - l*t): equal to PyTorch's max(l,0) - l*t + log(1+exp(-|l|)), and stable for large |l|.
Tensor bce_with_logits(const Tensor& logits, const Tensor& target) {
  check_same_shape("bce_with_logits", logits, target, "logits", "target");
  return mean(sub(softplus(logits), mul(logits, target)));
}

Tensor interpolate(const Tensor& x, const Tensor& xt, const Tensor& eps) {
  OpScope scope("interpolate");
  check_same_shape("interpolate", x, xt, "real", "fake");
  detail::check_float("interpolate", eps);
  detail::check_same_device("interpolate", {&x, &eps});
  if (x.dim() < 1 || eps.numel() != x.size(0)) {
    throw Error("interpolate: need one eps per sample: eps " + shape_str(eps.shape()) + " for inputs " +
                shape_str(x.shape()));
  }
  int64_t N = x.size(0), D = N ? x.numel() / N : 0;
  Tensor out = Tensor::empty(x.shape(), x.device());
  if (N * D > 0) GANGLION_DISPATCH(x.device(), interpolate, x.data(), xt.data(), eps.data(), out.data(), N, D);
  return out;
}

Tensor gradient_penalty(const Tensor& g, float lambda, float target) {
  OpScope scope("gradient_penalty");
  detail::check_float("gradient_penalty", g);
  if (g.dim() < 1 || g.size(0) == 0) {
    throw Error("gradient_penalty: expected per-sample gradients [N, ...] with N > 0, got " + shape_str(g.shape()));
  }
  int64_t N = g.size(0), D = g.numel() / N;
  Device dev = g.device();
  Tensor norms = Tensor::empty({N}, dev), loss = Tensor::empty({}, dev);
  GANGLION_DISPATCH(dev, gradient_penalty_forward, g.data(), norms.data(), loss.data(), N, D, lambda, target);
  return record("gradient_penalty", loss, {g}, [=](const Tensor& gl, const Tensor&) {
    if (grad_enabled()) {  // recorded backward: the same formula in ops
      Tensor flat = reshape(g, {N, D});
      Tensor nrm = sqrt(add_scalar(sum(square(flat), {1}, true), 1e-24f));
      Tensor coef = mul_scalar(div(add_scalar(nrm, -target), nrm), 2.f * lambda / static_cast<float>(N));
      return std::vector<Tensor>{reshape(mul(mul(flat, coef), gl), g.shape())};
    }
    OpScope backward_scope("gradient_penalty_backward");
    Tensor dg = Tensor::empty(g.shape(), dev);
    GANGLION_DISPATCH(dev, gradient_penalty_backward, g.data(), norms.data(), gl.data(), dg.data(), N, D, lambda,
                      target);
    return std::vector<Tensor>{dg};
  });
}

}  // namespace ganglion
