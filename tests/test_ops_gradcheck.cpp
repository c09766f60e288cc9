// tests/test_ops_gradcheck.cpp — rung 2 of the testing ladder, first order: every differentiable op's analytic
// gradient (grad() with a random upstream weight) against central differences (eps 1e-3, float32, sums in
// double; tolerance abs 1e-3 + rel 1e-2). Inputs are kept away from kinks (relu, abs, clamp, max ties).
// Second-order checks live in tests/test_ops_gradgrad.cpp.
#include "test_util.h"

using namespace ganglion;
using gtest::gradcheck;
using gtest::rnd;
using gtest::rnd_away;
using V = std::vector<Tensor>;

TEST_CASE("gradcheck: add, sub, mul, div with broadcasting", "[gradcheck][ops]") {
  const std::vector<std::pair<Shape, Shape>> layouts = {
      {{2, 3, 2}, {2, 3, 2}}, {{2, 3, 2}, {}}, {{2, 3, 2}, {1, 3, 1}}, {{2, 3, 2}, {2, 1, 1}}, {{3, 1}, {2, 1, 4}}};
  uint64_t seed = 100;
  for (const auto& [sa, sb] : layouts) {
    std::string tag = shape_str(sa) + " with " + shape_str(sb);
    Tensor a = rnd(sa, ++seed), b = rnd(sb, ++seed);
    CHECK(gradcheck("add " + tag, [](const V& v) { return add(v[0], v[1]); }, {a, b}));
    CHECK(gradcheck("sub " + tag, [](const V& v) { return sub(v[0], v[1]); }, {a, b}));
    CHECK(gradcheck("mul " + tag, [](const V& v) { return mul(v[0], v[1]); }, {a, b}));
    Tensor den = rnd_away(sb, ++seed, -1.5f, 1.5f, {0.f}, 0.5f);  // |den| >= 0.5
    CHECK(gradcheck("div " + tag, [](const V& v) { return div(v[0], v[1]); }, {a, den}));
  }
}

TEST_CASE("gradcheck: scalar forms and operators", "[gradcheck][ops]") {
  Tensor x = rnd({2, 3}, 120), y = rnd_away({2, 3}, 121, -1.5f, 1.5f, {0.f}, 0.5f);
  CHECK(gradcheck("add_scalar", [](const V& v) { return add_scalar(v[0], 0.7f); }, {x}));
  CHECK(gradcheck("mul_scalar", [](const V& v) { return mul_scalar(v[0], -1.3f); }, {x}));
  CHECK(gradcheck(
      "operators", [](const V& v) { return (2.f - v[0]) * 0.5f + (1.f + v[0]) / 2.f - v[0] * v[1] + 3.f * (-v[1]) - 1.f; },
      {x, y}));
  CHECK(gradcheck("operator/", [](const V& v) { return v[0] / v[1] + v[0] - v[1] * 2.f; }, {x, y}));
}

TEST_CASE("gradcheck: unary ops and activations", "[gradcheck][ops]") {
  const Shape s{2, 3, 4};
  struct U {
    const char* name;
    std::function<Tensor(const Tensor&)> f;
    Tensor x;
  };
  const std::vector<U> cases = {
      {"neg", [](const Tensor& x) { return neg(x); }, rnd(s, 1)},
      {"exp", [](const Tensor& x) { return exp(x); }, rnd(s, 2)},
      {"log", [](const Tensor& x) { return log(x); }, rnd(s, 3, 0.3f, 2.f)},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, rnd(s, 4, 0.3f, 2.f)},
      {"square", [](const Tensor& x) { return square(x); }, rnd(s, 5)},
      {"pow 2.5", [](const Tensor& x) { return pow(x, 2.5f); }, rnd(s, 6, 0.3f, 2.f)},
      {"pow 3 (negative inputs too)", [](const Tensor& x) { return pow(x, 3.f); }, rnd(s, 7)},
      {"abs", [](const Tensor& x) { return abs(x); }, rnd_away(s, 8, -1.f, 1.f, {0.f})},
      {"clamp", [](const Tensor& x) { return clamp(x, -0.5f, 0.7f); }, rnd_away(s, 9, -1.5f, 1.5f, {-0.5f, 0.7f})},
      {"relu", [](const Tensor& x) { return relu(x); }, rnd_away(s, 10, -1.f, 1.f, {0.f})},
      {"leaky_relu 0.2", [](const Tensor& x) { return leaky_relu(x, 0.2f); }, rnd_away(s, 11, -1.f, 1.f, {0.f})},
      {"leaky_relu 0.01", [](const Tensor& x) { return leaky_relu(x, 0.01f); }, rnd_away(s, 12, -1.f, 1.f, {0.f})},
      {"tanh", [](const Tensor& x) { return tanh(x); }, rnd(s, 13, -2.f, 2.f)},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, rnd(s, 14, -4.f, 4.f)},
      {"softplus", [](const Tensor& x) { return softplus(x); }, rnd(s, 15, -5.f, 5.f)},
      {"log_sigmoid", [](const Tensor& x) { return log_sigmoid(x); }, rnd(s, 16, -5.f, 5.f)},
  };
  for (const U& u : cases) {
    auto f = u.f;
    CHECK(gradcheck(u.name, [f](const V& v) { return f(v[0]); }, {u.x}));
  }
}

TEST_CASE("gradcheck: reductions, max, expand, sum_to_shape", "[gradcheck][ops]") {
  Tensor x = rnd({2, 3, 4}, 200);
  CHECK(gradcheck("sum all", [](const V& v) { return sum(v[0]); }, {x}));
  CHECK(gradcheck("sum dim 1 keepdim", [](const V& v) { return sum(v[0], {1}, true); }, {x}));
  CHECK(gradcheck("sum dims 0,2", [](const V& v) { return sum(v[0], {0, 2}); }, {x}));
  CHECK(gradcheck("mean all", [](const V& v) { return mean(v[0]); }, {x}));
  CHECK(gradcheck("mean dims 0,2 keepdim", [](const V& v) { return mean(v[0], {0, 2}, true); }, {x}));
  CHECK(gradcheck("mean dim -1", [](const V& v) { return mean(v[0], {-1}); }, {x}));
  Tensor d = gtest::rnd_distinct({2, 3, 4}, 201);
  CHECK(gradcheck("max dim 1", [](const V& v) { return max(v[0], 1); }, {d}));
  CHECK(gradcheck("max dim -1 keepdim", [](const V& v) { return max(v[0], -1, true); }, {d}));
  CHECK(gradcheck("max dim 0", [](const V& v) { return max(v[0], 0); }, {d}));
  CHECK(gradcheck("expand", [](const V& v) { return expand(v[0], {2, 3, 4}); }, {rnd({3, 1}, 202)}));
  CHECK(gradcheck("sum_to_shape", [](const V& v) { return sum_to_shape(v[0], {3, 1}); }, {x}));
}

TEST_CASE("gradcheck: reshape, flatten, concat, slice", "[gradcheck][ops]") {
  Tensor x = rnd({2, 3, 4}, 300);
  CHECK(gradcheck("reshape", [](const V& v) { return reshape(v[0], {4, -1}); }, {x}));
  CHECK(gradcheck("flatten 1", [](const V& v) { return flatten(v[0], 1); }, {x}));
  CHECK(gradcheck("flatten 0", [](const V& v) { return flatten(v[0], 0); }, {x}));
  // A view followed by a non-linear op: the gradient must flow back through the view.
  CHECK(gradcheck("reshape then square", [](const V& v) { return square(reshape(v[0], {6, 4})); }, {x}));
  V parts = {rnd({2, 1, 4}, 301), rnd({2, 3, 4}, 302), rnd({2, 2, 4}, 303)};
  CHECK(gradcheck("concat dim 1", [](const V& v) { return concat(v, 1); }, parts));
  CHECK(gradcheck("concat dim 0", [](const V& v) { return concat({v[0], v[0] * v[1]}, 0); },
                  {rnd({1, 3}, 304), rnd({1, 3}, 305)}));
  CHECK(gradcheck("slice dim 1", [](const V& v) { return slice(v[0], 1, 1, 3); }, {x}));
  CHECK(gradcheck("slice dim -1", [](const V& v) { return square(slice(v[0], -1, 0, 2)); }, {x}));
}

TEST_CASE("gradcheck: matmul (all transposes) and linear", "[gradcheck][ops]") {
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      Tensor a = ta ? rnd({4, 3}, 400) : rnd({3, 4}, 401);
      Tensor b = tb ? rnd({2, 4}, 402) : rnd({4, 2}, 403);
      std::string name = std::string("matmul trans_a=") + (ta ? "1" : "0") + " trans_b=" + (tb ? "1" : "0");
      CHECK(gradcheck(name, [ta, tb](const V& v) { return matmul(v[0], v[1], ta, tb); }, {a, b}));
    }
  }
  Tensor x = rnd({3, 4}, 404), w = rnd({2, 4}, 405), b = rnd({2}, 406);
  CHECK(gradcheck("linear with bias", [](const V& v) { return linear(v[0], v[1], v[2]); }, {x, w, b}));
  CHECK(gradcheck("linear without bias", [](const V& v) { return linear(v[0], v[1]); }, {x, w}));
}

TEST_CASE("gradcheck: conv2d", "[gradcheck][ops][conv]") {
  Tensor x = rnd({2, 2, 5, 4}, 500), w = rnd({3, 2, 3, 3}, 501), b = rnd({3}, 502);
  CHECK(gradcheck("conv2d stride 1 padding 0 bias", [](const V& v) { return conv2d(v[0], v[1], v[2]); }, {x, w, b}));
  CHECK(gradcheck("conv2d stride 2 padding 1", [](const V& v) { return conv2d(v[0], v[1], Tensor(), {2, 1, 1}); },
                  {x, w}));
  CHECK(gradcheck("conv2d dilation 2 padding 1 bias",
                  [](const V& v) { return conv2d(v[0], v[1], v[2], {1, 1, 2}); }, {rnd({1, 2, 6, 5}, 503), w, b}));
  CHECK(gradcheck("conv2d k4 stride 2 padding 1",
                  [](const V& v) { return conv2d(v[0], v[1], v[2], {2, 1, 1}); },
                  {rnd({1, 2, 6, 6}, 504), rnd({2, 2, 4, 4}, 505), rnd({2}, 506)}));
}

TEST_CASE("gradcheck: conv_transpose2d", "[gradcheck][ops][conv]") {
  Tensor x = rnd({1, 2, 3, 3}, 600), w = rnd({2, 2, 4, 4}, 601), b = rnd({2}, 602);
  CHECK(gradcheck("conv_transpose2d k4 stride 2 padding 1 bias",
                  [](const V& v) { return conv_transpose2d(v[0], v[1], v[2], {2, 1, 0, 1}); }, {x, w, b}));
  CHECK(gradcheck("conv_transpose2d k4 stride 2 padding 1 output_padding 1",
                  [](const V& v) { return conv_transpose2d(v[0], v[1], Tensor(), {2, 1, 1, 1}); }, {x, w}));
  CHECK(gradcheck("conv_transpose2d k3 stride 1",
                  [](const V& v) { return conv_transpose2d(v[0], v[1], v[2]); },
                  {rnd({2, 2, 3, 2}, 603), rnd({2, 3, 3, 3}, 604), rnd({3}, 605)}));
  CHECK(gradcheck("conv_transpose2d k3 stride 2 dilation 2",
                  [](const V& v) { return conv_transpose2d(v[0], v[1], Tensor(), {2, 1, 0, 2}); },
                  {rnd({1, 2, 3, 2}, 606), rnd({2, 2, 3, 3}, 607)}));
}

TEST_CASE("gradcheck: batch_norm (training, eval; 2-D and 1-D) and layer_norm", "[gradcheck][ops][norm]") {
  Tensor x4 = rnd({3, 2, 2, 3}, 700, -2.f, 2.f), g = rnd({2}, 701, 0.5f, 1.5f), b = rnd({2}, 702);
  CHECK(gradcheck("batch_norm 2-D training",
                  [](const V& v) { return batch_norm(v[0], v[1], v[2], Tensor(), Tensor(), true); }, {x4, g, b}));
  CHECK(gradcheck("batch_norm 2-D training, no affine",
                  [](const V& v) { return batch_norm(v[0], Tensor(), Tensor(), Tensor(), Tensor(), true); }, {x4}));
  // Running stats in training mode are updated (many times here) but do not change the output.
  Tensor rm = zeros({2}), rv = ones({2});
  CHECK(gradcheck("batch_norm 2-D training with running stats",
                  [rm, rv](const V& v) { return batch_norm(v[0], v[1], v[2], rm, rv, true); }, {x4, g, b}));
  Tensor rm2 = rnd({2}, 703), rv2 = rnd({2}, 704, 0.5f, 1.5f);
  CHECK(gradcheck("batch_norm 2-D eval",
                  [rm2, rv2](const V& v) { return batch_norm(v[0], v[1], v[2], rm2, rv2, false); }, {x4, g, b}));
  Tensor x2 = rnd({5, 3}, 705, -2.f, 2.f), g3 = rnd({3}, 706, 0.5f, 1.5f), b3 = rnd({3}, 707);
  CHECK(gradcheck("batch_norm 1-D training",
                  [](const V& v) { return batch_norm(v[0], v[1], v[2], Tensor(), Tensor(), true); }, {x2, g3, b3}));
  Tensor rm3 = rnd({3}, 708), rv3 = rnd({3}, 709, 0.5f, 1.5f);
  CHECK(gradcheck("batch_norm 1-D eval",
                  [rm3, rv3](const V& v) { return batch_norm(v[0], v[1], v[2], rm3, rv3, false); }, {x2, g3, b3}));

  Tensor xl = rnd({3, 5}, 710, -2.f, 2.f);
  CHECK(gradcheck("layer_norm last 1", [](const V& v) { return layer_norm(v[0], 1, v[1], v[2]); },
                  {xl, rnd({5}, 711, 0.5f, 1.5f), rnd({5}, 712)}));
  Tensor xl3 = rnd({2, 2, 3, 2}, 713, -2.f, 2.f);
  CHECK(gradcheck("layer_norm last 3", [](const V& v) { return layer_norm(v[0], 3, v[1], v[2]); },
                  {xl3, rnd({2, 3, 2}, 714, 0.5f, 1.5f), rnd({2, 3, 2}, 715)}));
  CHECK(gradcheck("layer_norm no affine", [](const V& v) { return layer_norm(v[0], 2, Tensor(), Tensor()); }, {xl3}));
}

TEST_CASE("gradcheck: losses and the gradient penalty", "[gradcheck][ops]") {
  Tensor x = rnd({3, 4}, 800, -2.f, 2.f), t = rnd({3, 4}, 801, 0.f, 1.f);
  CHECK(gradcheck("mse_loss", [](const V& v) { return mse_loss(v[0], v[1]); }, {x, t}));
  CHECK(gradcheck("bce_with_logits", [](const V& v) { return bce_with_logits(v[0], v[1]); }, {x, t}));
  Tensor hard = from_vector({1, 0, 1, 1, 0, 0}, {6, 1});
  CHECK(gradcheck("bce_with_logits (hard labels, target constant)",
                  [hard](const V& v) { return bce_with_logits(v[0], hard); }, {rnd({6, 1}, 802, -6.f, 6.f)}));
  CHECK(gradcheck("gradient_penalty lambda 10", [](const V& v) { return gradient_penalty(v[0], 10.f, 1.f); },
                  {rnd({3, 2, 2}, 803)}));
  CHECK(gradcheck("gradient_penalty lambda 2 target 0.5", [](const V& v) { return gradient_penalty(v[0], 2.f, 0.5f); },
                  {rnd({4, 3}, 804)}));
}

TEST_CASE("gradcheck: interpolate is not differentiable", "[gradcheck][ops]") {
  Tensor a = rnd({2, 3}, 900).set_requires_grad(), b = rnd({2, 3}, 901).set_requires_grad();
  Tensor e = rnd({2}, 902, 0.f, 1.f);
  Tensor out = interpolate(a, b, e);
  CHECK_FALSE(out.requires_grad());
  std::vector<float> av = a.to_vector(), bv = b.to_vector(), ev = e.to_vector(), ov = out.to_vector();
  for (int i = 0; i < 6; ++i) CHECK(ov[i] == Approx(ev[i / 3] * av[i] + (1 - ev[i / 3]) * bv[i]).epsilon(1e-6));
}
