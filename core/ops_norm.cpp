// core/ops_norm.cpp — batch_norm and layer_norm. Forward and first backward run the fused kernels; when the
// backward itself is being recorded (create_graph, e.g. a gradient penalty through a normalised critic), the
// backward is computed from ops instead, so the double backward is exact rather than missing.
#include "core/dispatch.h"
#include "core/ops_util.h"
#include "kernels/batchnorm.h"
#include "kernels/layernorm.h"

namespace ganglion {

namespace {

// Differentiable normalisation backward: x normalised over `dims` (statistics recomputed from x), affine
// parameter gamma broadcast as gamma_b (undefined: no affine). Returns {dx, dgamma, dbeta} (dgamma/dbeta in
// gamma's shape; undefined without affine).
std::vector<Tensor> norm_backward_ops(const Tensor& g, const Tensor& x, const Tensor& gamma, const Tensor& gamma_b,
                                      const std::vector<int64_t>& dims, float eps, bool want_affine) {
  Tensor mu = mean(x, dims, true);
  Tensor xc = sub(x, mu);
  Tensor invstd = pow(add_scalar(mean(square(xc), dims, true), eps), -0.5f);
  Tensor xhat = mul(xc, invstd);
  Tensor gg = gamma_b.defined() ? mul(g, gamma_b) : g;
  Tensor dx = mul(invstd, sub(sub(gg, mean(gg, dims, true)), mul(xhat, mean(mul(gg, xhat), dims, true))));
  Tensor dgamma, dbeta;
  if (want_affine && gamma.defined()) {
    dgamma = reshape(sum_to_shape(mul(g, xhat), gamma_b.shape()), gamma.shape());
    dbeta = reshape(sum_to_shape(g, gamma_b.shape()), gamma.shape());
  }
  return {dx, dgamma, dbeta};
}

void check_param(const char* op, const char* what, const Tensor& p, const Shape& expect) {
  if (!p.defined()) return;
  detail::check_float(op, p);
  if (p.shape() != expect) {
    throw Error(std::string(op) + ": " + what + " has shape " + shape_str(p.shape()) + ", expected " + shape_str(expect));
  }
}

const float* ptr_or_null(const Tensor& t) { return t.defined() ? t.data() : nullptr; }
float* ptr_or_null(Tensor& t) { return t.defined() ? t.data() : nullptr; }

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                  const Tensor& running_var, bool training, float momentum, float eps) {
  OpScope scope("batch_norm");
  detail::check_float("batch_norm", x);
  detail::check_same_device("batch_norm", {&x, &gamma, &beta, &running_mean, &running_var});
  if (x.dim() < 2) throw Error("batch_norm: expected input [N,C] or [N,C,H,W], got " + shape_str(x.shape()));
  int64_t N = x.size(0), C = x.size(1), L = x.numel() / std::max<int64_t>(N * C, 1);
  check_param("batch_norm", "weight", gamma, {C});
  check_param("batch_norm", "bias", beta, {C});
  check_param("batch_norm", "running_mean", running_mean, {C});
  check_param("batch_norm", "running_var", running_var, {C});
  if (training && N * L <= 1) {
    throw Error("batch_norm: training needs more than one value per channel, got input " + shape_str(x.shape()));
  }
  if (!training && (!running_mean.defined() || !running_var.defined())) {
    throw Error("batch_norm: eval mode needs running_mean and running_var");
  }
  Shape bshape(static_cast<size_t>(x.dim()), 1);
  bshape[1] = C;
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  Tensor y = Tensor::empty(x.shape(), x.device());
  Device dev = x.device();
  if (!training) {
    GANGLION_DISPATCH_DNN(dev, batchnorm_forward_eval, x.data(), ptr_or_null(gamma), ptr_or_null(beta),
                          running_mean.data(), running_var.data(), y.data(), N, C, L, eps);
    Tensor rm = running_mean.detach(), rv = running_var.detach();
    return record("batch_norm_eval", y, {x, gamma, beta}, [=](const Tensor& g, const Tensor&) {
      Tensor rinv = reshape(pow(add_scalar(rv, eps), -0.5f), bshape);
      Tensor gamma_b = gamma.defined() ? reshape(gamma, bshape) : Tensor();
      Tensor dx = mul(g, gamma_b.defined() ? mul(gamma_b, rinv) : rinv);
      Tensor dgamma, dbeta;
      if (gamma.defined()) {
        Tensor xhat = mul(sub(x, reshape(rm, bshape)), rinv);
        dgamma = reshape(sum_to_shape(mul(g, xhat), bshape), {C});
        dbeta = reshape(sum_to_shape(g, bshape), {C});
      }
      return std::vector<Tensor>{dx, dgamma, dbeta};
    });
  }
  Tensor save_mean = Tensor::empty({C}, dev), save_invstd = Tensor::empty({C}, dev);
  Tensor rm = running_mean, rv = running_var;  // updated in place (buffers)
  GANGLION_DISPATCH_DNN(dev, batchnorm_forward_train, x.data(), ptr_or_null(gamma), ptr_or_null(beta), y.data(),
                        save_mean.data(), save_invstd.data(), ptr_or_null(rm), ptr_or_null(rv), N, C, L, momentum, eps);
  return record("batch_norm", y, {x, gamma, beta}, [=](const Tensor& g, const Tensor&) {
    if (grad_enabled()) {
      Tensor gamma_b = gamma.defined() ? reshape(gamma, bshape) : Tensor();
      return norm_backward_ops(g, x, gamma, gamma_b, dims, eps, true);
    }
    OpScope backward_scope("batch_norm_backward");
    Tensor dx = Tensor::empty(x.shape(), dev), dgamma, dbeta;
    if (gamma.defined()) {
      dgamma = Tensor::empty({C}, dev);
      dbeta = Tensor::empty({C}, dev);
    }
    GANGLION_DISPATCH_DNN(dev, batchnorm_backward, x.data(), g.data(), ptr_or_null(gamma), save_mean.data(),
                          save_invstd.data(), dx.data(), ptr_or_null(dgamma), ptr_or_null(dbeta), N, C, L);
    return std::vector<Tensor>{dx, dgamma, dbeta};
  });
}

Tensor layer_norm(const Tensor& x, int64_t nd, const Tensor& gamma, const Tensor& beta, float eps) {
  OpScope scope("layer_norm");
  detail::check_float("layer_norm", x);
  detail::check_same_device("layer_norm", {&x, &gamma, &beta});
  if (nd < 1 || nd > x.dim()) {
    throw Error("layer_norm: cannot normalise the last " + std::to_string(nd) + " dimensions of " + shape_str(x.shape()));
  }
  Shape tail(x.shape().end() - nd, x.shape().end());
  check_param("layer_norm", "weight", gamma, tail);
  check_param("layer_norm", "bias", beta, tail);
  int64_t D = shape_numel(tail), M = D ? x.numel() / D : 0;
  std::vector<int64_t> dims;
  for (int64_t d = x.dim() - nd; d < x.dim(); ++d) dims.push_back(d);
  Device dev = x.device();
  Tensor y = Tensor::empty(x.shape(), dev);
  Tensor save_mean = Tensor::empty({M}, dev), save_invstd = Tensor::empty({M}, dev);
  if (M * D > 0) {
    GANGLION_DISPATCH(dev, layernorm_forward, x.data(), ptr_or_null(gamma), ptr_or_null(beta), y.data(),
                      save_mean.data(), save_invstd.data(), M, D, eps);
  }
  return record("layer_norm", y, {x, gamma, beta}, [=](const Tensor& g, const Tensor&) {
    if (grad_enabled()) return norm_backward_ops(g, x, gamma, gamma, dims, eps, true);
    OpScope backward_scope("layer_norm_backward");
    Tensor dx = Tensor::empty(x.shape(), dev), dgamma, dbeta;
    if (gamma.defined()) {
      dgamma = Tensor::empty(tail, dev);
      dbeta = Tensor::empty(tail, dev);
    }
    if (M * D > 0) {
      GANGLION_DISPATCH(dev, layernorm_backward, x.data(), g.data(), ptr_or_null(gamma), save_mean.data(),
                        save_invstd.data(), dx.data(), ptr_or_null(dgamma), ptr_or_null(dbeta), M, D);
    }
    return std::vector<Tensor>{dx, dgamma, dbeta};
  });
}

}  // namespace ganglion
