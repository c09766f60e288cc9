// tests/test_cuda_ops.cpp — CUDA twin against CPU twin for every op, forward and every gradient, at awkward
// shapes (batch 1 and 5, 3 and 7 channels, 7x7 and 33x33 images, stride 2 with odd sizes); native conv and
// batchnorm against cuDNN; Philox identical on both devices; penalties (double backward) on CUDA.
#include "cuda_test_util.h"
#include "core/dispatch.h"

using namespace ganglion;
using ganglion::testing::check_twins;
using ganglion::testing::cuda_or_skip;
using ganglion::testing::rel_error;

namespace {
using V = std::vector<Tensor>;

// Inputs away from 0 so kinked activations give the same branch on both devices.
Tensor away_from_zero(Generator& g, const Shape& s) {
  Tensor t = g.randn(s);
  std::vector<float> v = t.to_vector();
  for (float& x : v) x = x >= 0 ? x + 0.1f : x - 0.1f;
  return from_vector(v, s);
}
}  // namespace

TEST_CASE("cuda twins: elementwise and activations", "[cuda]") {
  if (!cuda_or_skip()) return;
  Generator g(1);
  for (Shape s : {Shape{1, 3, 7, 7}, Shape{5, 7, 33, 33}, Shape{1001}}) {
    Tensor x = away_from_zero(g, s);
    Tensor pos = add_scalar(abs(g.randn(s)), 0.5f);
    check_twins("neg", [](const V& v) { return neg(v[0]); }, {x});
    check_twins("exp", [](const V& v) { return exp(v[0]); }, {x});
    check_twins("log", [](const V& v) { return log(v[0]); }, {pos});
    check_twins("sqrt", [](const V& v) { return sqrt(v[0]); }, {pos});
    check_twins("square", [](const V& v) { return square(v[0]); }, {x});
    check_twins("pow 2.5", [](const V& v) { return pow(v[0], 2.5f); }, {pos});
    check_twins("abs", [](const V& v) { return abs(v[0]); }, {x});
    check_twins("clamp", [](const V& v) { return clamp(v[0], -0.55f, 0.65f); }, {x});
    check_twins("relu", [](const V& v) { return relu(v[0]); }, {x});
    check_twins("leaky_relu", [](const V& v) { return leaky_relu(v[0], 0.2f); }, {x});
    check_twins("tanh", [](const V& v) { return tanh(v[0]); }, {x});
    check_twins("sigmoid", [](const V& v) { return sigmoid(v[0]); }, {x});
    check_twins("softplus", [](const V& v) { return softplus(v[0]); }, {x});
    check_twins("log_sigmoid", [](const V& v) { return log_sigmoid(v[0]); }, {x});
  }
}

TEST_CASE("cuda twins: broadcast binary ops", "[cuda]") {
  if (!cuda_or_skip()) return;
  Generator g(2);
  std::vector<std::pair<Shape, Shape>> cases = {
      {{5, 7, 33, 33}, {1, 7, 1, 1}}, {{5, 7, 33, 33}, {5, 1, 1, 1}}, {{5, 3, 7, 7}, {}},
      {{1, 3, 7, 7}, {7}},            {{4, 1, 5}, {3, 1}},            {{6, 5}, {6, 5}}};
  for (auto& [sa, sb] : cases) {
    Tensor a = g.randn(sa), b = add_scalar(abs(g.randn(sb)), 0.5f);
    std::string tag = shape_str(sa) + " with " + shape_str(sb);
    check_twins("add " + tag, [](const V& v) { return add(v[0], v[1]); }, {a, b});
    check_twins("sub " + tag, [](const V& v) { return sub(v[0], v[1]); }, {a, b});
    check_twins("mul " + tag, [](const V& v) { return mul(v[0], v[1]); }, {a, b});
    check_twins("div " + tag, [](const V& v) { return div(v[0], v[1]); }, {a, b});
  }
}

TEST_CASE("cuda twins: reductions, max, shape ops", "[cuda]") {
  if (!cuda_or_skip()) return;
  Generator g(3);
  Tensor x = g.randn({5, 7, 33, 33});
  check_twins("sum all", [](const V& v) { return sum(v[0]); }, {add_scalar(x, 1.f)});  // sum away from 0
  check_twins("sum 0,2,3", [](const V& v) { return sum(v[0], {0, 2, 3}); }, {x});
  check_twins("mean 1 keepdim", [](const V& v) { return mean(v[0], {1}, true); }, {x});
  check_twins("mean 3", [](const V& v) { return mean(v[0], {3}); }, {x});
  check_twins("max dim 1", [](const V& v) { return max(v[0], 1); }, {x});
  check_twins("max dim 3 keepdim", [](const V& v) { return max(v[0], 3, true); }, {x});
  Tensor m = g.randn({5, 200 * 5});
  check_twins("maxout", [](const V& v) { return max(reshape(v[0], {5, 200, 5}), 2); }, {m});
  check_twins("concat", [](const V& v) { return concat({v[0], v[1]}, 1); }, {g.randn({5, 3, 7, 7}), g.randn({5, 4, 7, 7})});
  check_twins("slice", [](const V& v) { return slice(v[0], 2, 1, 6); }, {g.randn({5, 3, 7, 7})});
  check_twins("flatten", [](const V& v) { return mul_scalar(flatten(v[0]), 2.f); }, {g.randn({5, 3, 7, 7})});
}

TEST_CASE("cuda twins: matmul, linear, losses", "[cuda]") {
  if (!cuda_or_skip()) return;
  Generator g(4);
  for (int t = 0; t < 4; ++t) {
    bool ta = t & 1, tb = t & 2;
    Tensor a = ta ? g.randn({37, 5}) : g.randn({5, 37});
    Tensor b = tb ? g.randn({129, 37}) : g.randn({37, 129});
    check_twins("matmul " + std::to_string(t), [ta, tb](const V& v) { return matmul(v[0], v[1], ta, tb); }, {a, b});
  }
  check_twins("linear", [](const V& v) { return linear(v[0], v[1], v[2]); }, {g.randn({64, 800}), g.randn({400, 800}), g.randn({400})});
  Tensor target = g.rand({64, 1});
  check_twins("bce_with_logits", [target](const V& v) { return bce_with_logits(v[0], target.to(v[0].device())); }, {g.randn({64, 1})});
  check_twins("mse_loss", [](const V& v) { return mse_loss(v[0], v[1]); }, {g.randn({9, 2}), g.randn({9, 2})});
}

TEST_CASE("cuda twins: conv2d and conv_transpose2d at awkward shapes", "[cuda]") {
  if (!cuda_or_skip()) return;
  Generator g(5);
  struct C { Shape x, w; Conv2dOptions o; };
  std::vector<C> cases = {{{1, 3, 7, 7}, {7, 3, 3, 3}, {1, 1, 1}},     {{5, 7, 33, 33}, {3, 7, 4, 4}, {2, 1, 1}},
                          {{5, 3, 33, 33}, {7, 3, 3, 3}, {2, 0, 1}},   {{1, 7, 7, 7}, {3, 7, 1, 1}, {1, 0, 1}},
                          {{5, 3, 33, 33}, {4, 3, 3, 3}, {1, 2, 2}},   {{64, 1, 28, 28}, {64, 1, 4, 4}, {2, 1, 1}},
                          {{64, 64, 14, 14}, {128, 64, 4, 4}, {2, 1, 1}}};
  for (auto& c : cases) {
    std::string tag = shape_str(c.x) + " w" + shape_str(c.w) + " s" + std::to_string(c.o.stride);
    Conv2dOptions o = c.o;
    check_twins("conv2d " + tag, [o](const V& v) { return conv2d(v[0], v[1], v[2], o); },
                {g.randn(c.x), g.randn(c.w), g.randn({c.w[0]})}, 1e-4);
  }
  struct T { Shape x, w; ConvTranspose2dOptions o; };
  std::vector<T> tcases = {{{1, 3, 7, 7}, {3, 7, 4, 4}, {2, 1, 0, 1}}, {{5, 7, 7, 7}, {7, 3, 4, 4}, {2, 1, 1, 1}},
                           {{5, 16, 1, 1}, {16, 32, 7, 7}, {1, 0, 0, 1}}, {{5, 3, 33, 33}, {3, 3, 3, 3}, {1, 1, 0, 1}}};
  for (auto& c : tcases) {
    ConvTranspose2dOptions o = c.o;
    check_twins("conv_transpose2d " + shape_str(c.x) + " w" + shape_str(c.w),
                [o](const V& v) { return conv_transpose2d(v[0], v[1], v[2], o); },
                {g.randn(c.x), g.randn(c.w), g.randn({c.w[1]})}, 1e-4);
  }
}

TEST_CASE("cuda twins: batch_norm (train and eval) and layer_norm", "[cuda]") {
  if (!cuda_or_skip()) return;
  Generator g(6);
  for (Shape s : {Shape{5, 7, 33, 33}, Shape{1, 3, 7, 7}, Shape{64, 400}}) {
    int64_t C = s[1];
    Tensor rm_c = g.randn({C}), rv_c = add_scalar(abs(g.randn({C})), 0.5f);
    Tensor rm_g = rm_c.to(Device::cuda()), rv_g = rv_c.to(Device::cuda());
    check_twins("batch_norm train " + shape_str(s),
                [&](const V& v) {
                  bool gpu = v[0].device().is_cuda();
                  return batch_norm(v[0], v[1], v[2], gpu ? rm_g : rm_c, gpu ? rv_g : rv_c, true);
                },
                {g.randn(s), add_scalar(g.randn({C}), 1.f), g.randn({C})});
    CHECK(rel_error(rm_g, rm_c) <= 1e-5);
    CHECK(rel_error(rv_g, rv_c) <= 1e-5);
    check_twins("batch_norm eval " + shape_str(s),
                [&](const V& v) {
                  bool gpu = v[0].device().is_cuda();
                  return batch_norm(v[0], v[1], v[2], gpu ? rm_g : rm_c, gpu ? rv_g : rv_c, false);
                },
                {g.randn(s), add_scalar(g.randn({C}), 1.f), g.randn({C})});
  }
  check_twins("layer_norm [5,7,9,9] over 3", [](const V& v) { return layer_norm(v[0], 3, v[1], v[2]); },
              {g.randn({5, 7, 9, 9}), g.randn({7, 9, 9}), g.randn({7, 9, 9})});
  check_twins("layer_norm [33,1000] over 1", [](const V& v) { return layer_norm(v[0], 1, v[1], v[2]); },
              {g.randn({33, 1000}), g.randn({1000}), g.randn({1000})});
}

TEST_CASE("cuda: native conv and batchnorm against cuDNN", "[cuda]") {
  if (!cuda_or_skip()) return;
  Generator g(7);
  Device cu = Device::cuda();
  for (Shape xs : {Shape{5, 7, 33, 33}, Shape{1, 3, 7, 7}, Shape{128, 64, 32, 32}}) {
    Tensor x = g.randn(xs).to(cu).set_requires_grad(), w = g.randn({9, xs[1], 4, 4}).to(cu).set_requires_grad();
    Tensor gamma = g.randn({xs[1]}).to(cu).set_requires_grad(), beta = g.randn({xs[1]}).to(cu).set_requires_grad();
    auto run = [&](CudaImpl impl) {
      set_cuda_conv_impl(impl);
      Tensor y = conv2d(batch_norm(x, gamma, beta, Tensor(), Tensor(), true), w, Tensor(), {2, 1, 1});
      std::vector<Tensor> r = grad({sum(square(y))}, {x, w, gamma, beta});
      r.insert(r.begin(), y);
      return r;
    };
    std::vector<Tensor> nat = run(CudaImpl::Native), dnn = run(CudaImpl::Cudnn);
    set_cuda_conv_impl(CudaImpl::Native);
    for (size_t i = 0; i < nat.size(); ++i) {
      INFO("input " << shape_str(xs) << " tensor " << i);
      CHECK(rel_error(nat[i], dnn[i]) <= 1e-4);
    }
  }
}

TEST_CASE("cuda: Philox gives the same numbers on both devices", "[cuda]") {
  if (!cuda_or_skip()) return;
  for (int64_t n : {1, 7, 4096, 100003}) {
    Generator a(1234, 17), b(1234, 17);
    Tensor uc = a.rand({n}), ug = b.rand({n}, Device::cuda());
    CHECK(uc.to_vector() == ug.to_vector());
    Tensor nc = a.randn({n}), ng = b.randn({n}, Device::cuda());
    CHECK(rel_error(ng, nc) <= 1e-6);
    CHECK(a.offset() == b.offset());
  }
}

TEST_CASE("cuda: WGAN-GP and R1 double backward match the CPU", "[cuda]") {
  if (!cuda_or_skip()) return;
  Generator g(8);
  // critic conv -> leaky -> conv -> leaky -> linear; returns {penalty, grads of every parameter}
  auto run = [](const V& p, const Tensor& real, const Tensor& fake, const Tensor& eps, bool r1) {
    auto critic = [&](const Tensor& x) {
      Tensor h = leaky_relu(conv2d(x, p[0], p[1], {2, 1, 1}), 0.2f);
      h = leaky_relu(conv2d(h, p[2], p[3], {2, 1, 1}), 0.2f);
      return linear(flatten(h), p[4], p[5]);
    };
    Tensor xin = r1 ? real.detach() : interpolate(real, fake, eps);
    xin.set_requires_grad();
    Tensor gx = grad({sum(critic(xin))}, {xin}, {}, true)[0];
    Tensor pen = r1 ? mul_scalar(mean(sum(square(flatten(gx)), {1})), 5.f) : gradient_penalty(gx, 10.f);
    V out = grad({pen}, p, {}, false, /*allow_unused=*/true);  // first bias: only through leaky masks
    out.insert(out.begin(), pen);
    return out;
  };
  V pc = {g.randn({8, 3, 4, 4}, Device::cpu(), 0, 0.2f), g.randn({8}), g.randn({16, 8, 4, 4}, Device::cpu(), 0, 0.1f),
          g.randn({16}), g.randn({1, 16 * 4 * 4}, Device::cpu(), 0, 0.1f), g.randn({1})};
  V pg;
  for (Tensor& t : pc) {
    t.set_requires_grad();
    pg.push_back(t.detach().to(Device::cuda()).set_requires_grad());
  }
  Tensor real = g.randn({5, 3, 16, 16}), fake = g.randn({5, 3, 16, 16}), eps = g.rand({5});
  for (bool r1 : {false, true}) {
    V c = run(pc, real, fake, eps, r1);
    V d = run(pg, real.to(Device::cuda()), fake.to(Device::cuda()), eps.to(Device::cuda()), r1);
    for (size_t i = 0; i < c.size(); ++i) {
      INFO((r1 ? "R1" : "WGAN-GP") << " tensor " << i);
      CHECK(rel_error(d[i], c[i]) <= 1e-4);
    }
  }
}

TEST_CASE("cuda: device moves, mixed-device errors, memory stats", "[cuda]") {
  if (!cuda_or_skip()) return;
  Generator g(9);
  Tensor a = g.randn({3, 4});
  Tensor b = a.to(Device::cuda());
  CHECK(b.to(Device::cpu()).to_vector() == a.to_vector());
  try {
    add(a, b);
    FAIL("mixed devices accepted");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("different devices") != std::string::npos);
  }
  auto before = cuda::memory_stats();
  { Tensor big = zeros({1 << 20}, Device::cuda()); }
  auto after = cuda::memory_stats();
  CHECK(after.peak >= before.in_use + (4u << 20));
  CHECK(after.in_use == before.in_use);
}
