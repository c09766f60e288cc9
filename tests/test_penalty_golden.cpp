// tests/test_penalty_golden.cpp — the double backward GAN penalties against PyTorch: WGAN-GP and R1 on a small
// critic (conv2d, leaky_relu, flatten, linear) built from ops, with the input gradient taken by
// grad(create_graph=true) and the penalty differentiated again with respect to every parameter
// (tests/golden/data/penalty_*.safetensors, made by tests/golden/make_golden.py).
#include "test_util.h"

using namespace ganglion;
using gtest::Golden;

namespace {

const std::vector<std::string> kParams = {"0.weight", "0.bias", "2.weight", "2.bias", "5.weight", "5.bias"};

// Conv2d(1,4,4,2,1) LeakyReLU(0.2) Conv2d(4,8,4,2,1) LeakyReLU(0.2) Flatten Linear(32,1), weights from the file.
Tensor critic(const Golden& g, const Tensor& x) {
  Conv2dOptions o;
  o.stride = 2;
  o.padding = 1;
  Tensor h = leaky_relu(conv2d(x, g["param.0.weight"], g["param.0.bias"], o), 0.2f);
  h = leaky_relu(conv2d(h, g["param.2.weight"], g["param.2.bias"], o), 0.2f);
  return linear(flatten(h, 1), g["param.5.weight"], g["param.5.bias"]);
}

std::vector<Tensor> params(const Golden& g) {
  std::vector<Tensor> ps;
  for (const std::string& n : kParams) {
    Tensor p = g["param." + n];
    p.set_requires_grad(true);
    ps.push_back(p);
  }
  return ps;
}

// The second derivative passes through two convolutions' double backward; the values span ~3 orders of
// magnitude and are sums of a few hundred products, so float32 reordering stays well under 1e-4.
constexpr double kRel = 1e-4;

void check_param_grads(const Golden& g, const std::vector<Tensor>& grads, const std::string& what) {
  REQUIRE(grads.size() == kParams.size());
  for (size_t i = 0; i < kParams.size(); ++i) {
    Tensor got = grads[i].defined() ? grads[i] : zeros(g["grad." + kParams[i]].shape());
    gtest::check_close(got, g["grad." + kParams[i]], what + ": d penalty / d " + kParams[i], kRel);
  }
}

// g(x) = d sum(D(x)) / dx with a graph of its own.
Tensor input_grad(const Golden& g, const Tensor& x, Tensor* d_out) {
  Tensor d = critic(g, x);
  if (d_out) *d_out = d;
  return grad({sum(d)}, {x}, {}, /*create_graph=*/true)[0];
}

Tensor wgangp_xhat(const Golden& g) {
  Tensor xhat = interpolate(g["real"], g["fake"], g["eps"]);
  gtest::check_close(xhat, g["xhat"], "WGAN-GP: x_hat", kRel);
  CHECK_FALSE(xhat.requires_grad());
  xhat.set_requires_grad(true);
  return xhat;
}

}  // namespace

TEST_CASE("penalty golden: WGAN-GP with the fused gradient_penalty op", "[golden][penalty]") {
  Golden g = gtest::load_golden("penalty_wgangp.safetensors");
  std::vector<Tensor> ps = params(g);
  Tensor xhat = wgangp_xhat(g);
  Tensor d;
  Tensor gx = input_grad(g, xhat, &d);
  gtest::check_close(d, g["d_out"], "WGAN-GP: D(x_hat)", kRel);
  gtest::check_close(gx, g["input_grad"], "WGAN-GP: dD/dx_hat", kRel);
  REQUIRE(gx.requires_grad());
  Tensor penalty = gradient_penalty(gx, 10.f, 1.f);
  gtest::check_close(penalty, g["penalty"], "WGAN-GP: penalty", kRel);
  check_param_grads(g, grad({penalty}, ps, {}, false, /*allow_unused=*/true), "WGAN-GP");
}

TEST_CASE("penalty golden: WGAN-GP built from primitive ops agrees", "[golden][penalty]") {
  Golden g = gtest::load_golden("penalty_wgangp.safetensors");
  std::vector<Tensor> ps = params(g);
  Tensor xhat = wgangp_xhat(g);
  Tensor gx = input_grad(g, xhat, nullptr);
  Tensor norms = sqrt(sum(square(flatten(gx, 1)), {1}));
  Tensor penalty = mul_scalar(mean(square(add_scalar(norms, -1.f))), 10.f);
  gtest::check_close(penalty, g["penalty"], "WGAN-GP (primitives): penalty", kRel);
  check_param_grads(g, grad({penalty}, ps, {}, false, true), "WGAN-GP (primitives)");
}

TEST_CASE("penalty golden: WGAN-GP through backward() accumulates the same gradients", "[golden][penalty]") {
  Golden g = gtest::load_golden("penalty_wgangp.safetensors");
  std::vector<Tensor> ps = params(g);
  Tensor gx = input_grad(g, wgangp_xhat(g), nullptr);
  gradient_penalty(gx, 10.f, 1.f).backward();
  std::vector<Tensor> grads;
  for (Tensor& p : ps) grads.push_back(p.grad());
  check_param_grads(g, grads, "WGAN-GP via backward()");
}

TEST_CASE("penalty golden: R1 = gamma/2 * mean ||dD/dx||^2 on real data", "[golden][penalty]") {
  Golden g = gtest::load_golden("penalty_r1.safetensors");
  std::vector<Tensor> ps = params(g);
  Tensor real = g["real"];
  real.set_requires_grad(true);
  Tensor d;
  Tensor gx = input_grad(g, real, &d);
  gtest::check_close(d, g["d_out"], "R1: D(real)", kRel);
  gtest::check_close(gx, g["input_grad"], "R1: dD/dx", kRel);
  Tensor penalty = mul_scalar(mean(sum(square(flatten(gx, 1)), {1})), 10.f / 2.f);
  gtest::check_close(penalty, g["penalty"], "R1: penalty", kRel);
  check_param_grads(g, grad({penalty}, ps, {}, false, true), "R1");
}
