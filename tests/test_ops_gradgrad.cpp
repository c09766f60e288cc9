// tests/test_ops_gradgrad.cpp — rung 2, second order: for each op f, h(x) = sum_k ||grad(sum(f(x)*r), x_k,
// create_graph=true)||^2 is differentiated by grad() (the double backward WGAN-GP and R1 need) and by central
// differences. Covers conv2d, conv_transpose2d, linear, leaky_relu, tanh, sigmoid, softplus, layer_norm,
// batch_norm (training), max, and small critics with R1- and WGAN-GP-style penalties.
#include "test_util.h"

using namespace ganglion;
using gtest::gradcheck;
using gtest::gradgradcheck;
using gtest::rnd;
using V = std::vector<Tensor>;

namespace {

// conv(1->2, k3, s2, p1) leaky conv(2->2, k3) leaky flatten linear(2->1) on [2,1,6,6].
// Inputs: x, w1, b1, w2, b2, w3, b3.
Tensor small_critic(const V& v) {
  Tensor h = leaky_relu(conv2d(v[0], v[1], v[2], {2, 1, 1}), 0.2f);
  h = leaky_relu(conv2d(h, v[3], v[4]), 0.2f);
  return linear(flatten(h, 1), v[5], v[6]);
}

V critic_inputs() {
  return {rnd({2, 1, 6, 6}, 40), rnd({2, 1, 3, 3}, 41, -0.8f, 0.8f), rnd({2}, 42, -0.3f, 0.3f),
          rnd({2, 2, 3, 3}, 43, -0.5f, 0.5f), rnd({2}, 44, -0.3f, 0.3f), rnd({1, 2}, 45), rnd({1}, 46)};
}

}  // namespace

TEST_CASE("gradgrad: conv2d and conv_transpose2d", "[gradgrad][conv]") {
  CHECK(gradgradcheck("conv2d stride 2 padding 1", [](const V& v) { return conv2d(v[0], v[1], v[2], {2, 1, 1}); },
                      {rnd({1, 2, 5, 4}, 1), rnd({2, 2, 3, 3}, 2), rnd({2}, 3)}));
  CHECK(gradgradcheck("conv2d dilation 2", [](const V& v) { return conv2d(v[0], v[1], Tensor(), {1, 0, 2}); },
                      {rnd({1, 2, 5, 5}, 4), rnd({2, 2, 2, 2}, 5)}));
  CHECK(gradgradcheck("conv_transpose2d k4 stride 2 padding 1",
                      [](const V& v) { return conv_transpose2d(v[0], v[1], v[2], {2, 1, 0, 1}); },
                      {rnd({1, 2, 2, 3}, 6), rnd({2, 2, 4, 4}, 7), rnd({2}, 8)}));
  CHECK(gradgradcheck("conv_transpose2d k3 stride 1 output_padding 0",
                      [](const V& v) { return conv_transpose2d(v[0], v[1]); }, {rnd({1, 2, 3, 3}, 9), rnd({2, 1, 3, 3}, 10)}));
}

TEST_CASE("gradgrad: linear and matmul", "[gradgrad]") {
  CHECK(gradgradcheck("linear", [](const V& v) { return linear(v[0], v[1], v[2]); },
                      {rnd({3, 4}, 11), rnd({2, 4}, 12), rnd({2}, 13)}));
  CHECK(gradgradcheck("matmul trans_b", [](const V& v) { return matmul(v[0], v[1], false, true); },
                      {rnd({3, 4}, 14), rnd({2, 4}, 15)}));
}

TEST_CASE("gradgrad: activations", "[gradgrad]") {
  Tensor x = gtest::rnd_away({3, 4}, 20, -1.5f, 1.5f, {0.f}, 0.1f);
  Tensor w = rnd({1, 4}, 21, 0.5f, 1.5f);  // positive: x*w keeps x's distance from the kink
  // leaky_relu is piecewise linear: through leaky_relu(x*w) its backward's mask meets the product rule.
  CHECK(gradgradcheck("leaky_relu(x*w)", [](const V& v) { return leaky_relu(v[0] * v[1], 0.2f); }, {x, w}));
  CHECK(gradgradcheck("relu(x*w)", [](const V& v) { return relu(v[0] * v[1]); }, {x, w}));
  CHECK(gradgradcheck("tanh", [](const V& v) { return tanh(v[0]); }, {rnd({3, 4}, 22, -2.f, 2.f)}));
  CHECK(gradgradcheck("sigmoid", [](const V& v) { return sigmoid(v[0]); }, {rnd({3, 4}, 23, -3.f, 3.f)}));
  CHECK(gradgradcheck("softplus", [](const V& v) { return softplus(v[0]); }, {rnd({3, 4}, 24, -3.f, 3.f)}));
  CHECK(gradgradcheck("log_sigmoid", [](const V& v) { return log_sigmoid(v[0]); }, {rnd({3, 4}, 25, -3.f, 3.f)}));
  CHECK(gradgradcheck("exp, log, sqrt, div", [](const V& v) { return div(exp(v[0]), sqrt(v[1])) + log(v[1]); },
                      {rnd({2, 3}, 26), rnd({2, 3}, 27, 0.5f, 2.f)}));
}

TEST_CASE("gradgrad: max over a dim", "[gradgrad]") {
  CHECK(gradgradcheck("square(max(x, 1))", [](const V& v) { return square(max(v[0], 1)); },
                      {gtest::rnd_distinct({3, 4}, 30)}));
  CHECK(gradgradcheck("max(x*w, 0)", [](const V& v) { return max(v[0] * v[1], 0, true); },
                      {gtest::rnd_distinct({4, 3}, 31), rnd({1, 3}, 32, 0.5f, 1.5f)}));
}

TEST_CASE("gradgrad: layer_norm and batch_norm (training)", "[gradgrad][norm]") {
  CHECK(gradgradcheck("layer_norm last 1", [](const V& v) { return layer_norm(v[0], 1, v[1], v[2]); },
                      {rnd({3, 4}, 50, -2.f, 2.f), rnd({4}, 51, 0.5f, 1.5f), rnd({4}, 52)}));
  CHECK(gradgradcheck("layer_norm last 2", [](const V& v) { return layer_norm(v[0], 2, v[1], v[2]); },
                      {rnd({2, 2, 3}, 53, -2.f, 2.f), rnd({2, 3}, 54, 0.5f, 1.5f), rnd({2, 3}, 55)}));
  CHECK(gradgradcheck("batch_norm 2-D training",
                      [](const V& v) { return batch_norm(v[0], v[1], v[2], Tensor(), Tensor(), true); },
                      {rnd({3, 2, 2, 2}, 56, -2.f, 2.f), rnd({2}, 57, 0.5f, 1.5f), rnd({2}, 58)}));
  CHECK(gradgradcheck("batch_norm 1-D training",
                      [](const V& v) { return batch_norm(v[0], v[1], v[2], Tensor(), Tensor(), true); },
                      {rnd({5, 3}, 59, -2.f, 2.f), rnd({3}, 60, 0.5f, 1.5f), rnd({3}, 61)}));
}

TEST_CASE("gradgrad: a small critic, R1-style (input gradient norm)", "[gradgrad][penalty]") {
  // h = ||dD/dx||^2 (with random output weights), differentiated with respect to x and every parameter.
  CHECK(gradgradcheck("critic R1", small_critic, critic_inputs(), {}, {0}));
}

TEST_CASE("gradgrad: a small critic, WGAN-GP-style (gradient_penalty of the input gradient)", "[gradgrad][penalty]") {
  auto gp = [](const V& v) {
    Tensor g = grad({sum(small_critic(v))}, {v[0]}, {}, /*create_graph=*/true)[0];
    return gradient_penalty(g, 10.f, 1.f);
  };
  CHECK(gradcheck("critic WGAN-GP penalty", gp, critic_inputs()));
}
