// core/ops_update.cpp — in-place optimiser updates (no autograd), checked and dispatched to the fused kernels.
#include "core/dispatch.h"
#include "core/ops_util.h"
#include "kernels/optim.h"

namespace ganglion {

namespace {
void check_state(const char* op, const Tensor& p, const Tensor& t, const char* what) {
  detail::check_float(op, t);
  if (t.numel() != p.numel() || t.device() != p.device()) {
    throw Error(std::string(op) + ": " + what + " " + shape_str(t.shape()) + " on " + t.device().str() +
                " does not match parameter " + shape_str(p.shape()) + " on " + p.device().str());
  }
}
}  // namespace

void adam_update_(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, float lr, float beta1, float beta2, float eps,
                  float weight_decay, int64_t step) {
  detail::check_float("adam", p);
  check_state("adam", p, g, "gradient");
  check_state("adam", p, m, "exp_avg");
  check_state("adam", p, v, "exp_avg_sq");
  if (step < 1) throw Error("adam: step must be >= 1, got " + std::to_string(step));
  GANGLION_DISPATCH(p.device(), adam_update, p.data(), g.data(), m.data(), v.data(), p.numel(), lr, beta1, beta2, eps,
                    weight_decay, step);
}

void rmsprop_update_(Tensor& p, const Tensor& g, Tensor& sq, float lr, float alpha, float eps, float weight_decay) {
  detail::check_float("rmsprop", p);
  check_state("rmsprop", p, g, "gradient");
  check_state("rmsprop", p, sq, "square_avg");
  GANGLION_DISPATCH(p.device(), rmsprop_update, p.data(), g.data(), sq.data(), p.numel(), lr, alpha, eps, weight_decay);
}

void sgd_update_(Tensor& p, const Tensor& g, Tensor& buf, float lr, float momentum, float weight_decay,
                 bool first_step) {
  detail::check_float("sgd", p);
  check_state("sgd", p, g, "gradient");
  if (momentum != 0.f) check_state("sgd", p, buf, "momentum_buffer");
  GANGLION_DISPATCH(p.device(), sgd_update, p.data(), g.data(), momentum != 0.f ? buf.data() : nullptr, p.numel(), lr,
                    momentum, weight_decay, first_step);
}

}  // namespace ganglion
