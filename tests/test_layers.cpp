// tests/test_layers.cpp — layers/: shapes and parameter names of every layer, state_dict round trips and
// load errors, BatchNorm train/eval, Maxout, initialiser statistics, and the optimisers against updates
// worked out in the test.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

#include "core/autograd.h"
#include "core/device.h"
#include "core/ops.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/init.h"
#include "layers/linear.h"
#include "layers/module.h"
#include "layers/norm.h"
#include "layers/optim.h"
#include "layers/sequential.h"

using namespace ganglion;

namespace {

std::vector<std::string> names_of(const NamedTensors& ts) {
  std::vector<std::string> out;
  for (const auto& [n, t] : ts) out.push_back(n);
  return out;
}

std::string temp_path(const std::string& stem) {
  return (std::filesystem::temp_directory_path() /
          (stem + "_" + std::to_string(::getpid()) + ".safetensors"))
      .string();
}

double mean_of(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += x;
  return s / static_cast<double>(v.size());
}

double std_of(const std::vector<float>& v) {
  const double m = mean_of(v);
  double s = 0;
  for (float x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size()));
}

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, static_cast<double>(std::fabs(x)));
  return m;
}

// A module with a named child, for nested names ("main.0.weight").
struct Wrapper : Module {
  explicit Wrapper(Generator& g) {
    main = register_module("main", std::make_shared<Sequential>(std::initializer_list<ModulePtr>{
                                       std::make_shared<Linear>(4, 3, g), std::make_shared<BatchNorm1d>(3),
                                       std::make_shared<ReLU>()}));
  }
  Tensor forward(const Tensor& x) override { return main->forward(x); }
  std::string name() const override { return "Wrapper"; }
  std::shared_ptr<Sequential> main;
};

std::shared_ptr<Sequential> small_convnet(Generator& g) {
  auto net = std::make_shared<Sequential>();
  net->push_back(std::make_shared<Conv2d>(2, 4, 3, g, Conv2dArgs{.padding = 1}))
      .push_back(std::make_shared<BatchNorm2d>(4))
      .push_back(std::make_shared<LeakyReLU>(0.2f))
      .push_back(std::make_shared<Flatten>())
      .push_back(std::make_shared<Linear>(4 * 5 * 5, 3, g));
  return net;
}

}  // namespace

TEST_CASE("Linear: shapes, names, forward", "[layers]") {
  Generator g(1);
  Linear lin(3, 5, g);
  CHECK(names_of(lin.named_parameters()) == std::vector<std::string>{"weight", "bias"});
  CHECK(lin.weight.shape() == Shape{5, 3});
  CHECK(lin.bias.shape() == Shape{5});
  CHECK(lin.num_parameters() == 20);
  CHECK(lin.weight.requires_grad());
  Tensor x = g.randn({2, 3});
  Tensor y = lin(x);
  CHECK(y.shape() == Shape{2, 5});
  // y[0,0] = sum_k x[0,k] w[0,k] + b[0]
  double ref = lin.bias.at({0});
  for (int64_t k = 0; k < 3; ++k) ref += x.at({0, k}) * lin.weight.at({0, k});
  CHECK(y.at({0, 0}) == Approx(ref).margin(1e-6));

  Linear nob(3, 5, g, false);
  CHECK(names_of(nob.named_parameters()) == std::vector<std::string>{"weight"});
  CHECK(!nob.bias.defined());
  CHECK(nob.name() == "Linear(in_features=3, out_features=5, bias=False)");
  CHECK_THROWS_WITH(lin(g.randn({2, 4})), Catch::Contains("[2,4]"));
}

TEST_CASE("Conv2d and ConvTranspose2d: shapes and weight layouts", "[layers]") {
  Generator g(2);
  Conv2d c(3, 8, 3, g, {.stride = 2, .padding = 1});
  CHECK(c.weight.shape() == Shape{8, 3, 3, 3});
  CHECK(c.bias.shape() == Shape{8});
  CHECK(c(g.randn({2, 3, 9, 9})).shape() == Shape{2, 8, 5, 5});
  CHECK(c.name() == "Conv2d(3, 8, kernel_size=3, stride=2, padding=1)");

  Conv2d dil(3, 4, 3, g, {.dilation = 2, .bias = false});
  CHECK(names_of(dil.named_parameters()) == std::vector<std::string>{"weight"});
  CHECK(dil(g.randn({1, 3, 9, 9})).shape() == Shape{1, 4, 5, 5});

  ConvTranspose2d t0(16, 32, 7, g, {.bias = false});
  CHECK(t0.weight.shape() == Shape{16, 32, 7, 7});  // [in, out, k, k]
  CHECK(t0.num_parameters() == 16 * 32 * 49);
  CHECK(t0(g.randn({2, 16, 1, 1})).shape() == Shape{2, 32, 7, 7});
  ConvTranspose2d t1(32, 16, 4, g, {.stride = 2, .padding = 1});
  CHECK(t1.bias.shape() == Shape{16});
  CHECK(t1(g.randn({2, 32, 7, 7})).shape() == Shape{2, 16, 14, 14});
  ConvTranspose2d t2(4, 2, 3, g, {.stride = 2, .padding = 1, .output_padding = 1});
  CHECK(t2(g.randn({1, 4, 5, 5})).shape() == Shape{1, 2, 10, 10});

  CHECK_THROWS_WITH(c(g.randn({2, 4, 9, 9})), Catch::Contains("[2,4,9,9]"));
  CHECK_THROWS_AS(ConvTranspose2d(4, 2, 3, g, {.stride = 1, .output_padding = 1}), Error);
}

TEST_CASE("Module: nested names, buffers, children, train/eval, str", "[layers]") {
  Generator g(3);
  Wrapper w(g);
  CHECK(names_of(w.named_parameters()) ==
        std::vector<std::string>{"main.0.weight", "main.0.bias", "main.1.weight", "main.1.bias"});
  CHECK(names_of(w.named_buffers()) == std::vector<std::string>{"main.1.running_mean", "main.1.running_var"});
  CHECK(w.parameters().size() == 4);
  CHECK(w.num_parameters() == 4 * 3 + 3 + 3 + 3);
  TensorMap sd = w.state_dict();
  CHECK(sd.size() == 6);
  CHECK(sd.count("main.1.running_var") == 1);

  CHECK(w.is_training());
  w.eval();
  CHECK(!w.is_training());
  CHECK(!(*w.main)[1]->is_training());
  w.train();
  CHECK((*w.main)[1]->is_training());

  const std::string s = w.str();
  CHECK_THAT(s, Catch::Contains("(main): Sequential("));
  CHECK_THAT(s, Catch::Contains("(0): Linear(in_features=4, out_features=3, bias=True)  # 15 params"));
  CHECK_THAT(s, Catch::Contains("Total parameters: 21"));

  // The tensors are live handles: parameters() and the layer's members share storage.
  Tensor p = w.parameters()[0];
  CHECK(p.impl() == std::dynamic_pointer_cast<Linear>((*w.main)[0])->weight.impl());

  // zero_grad drops the grads that backward accumulated.
  Tensor y = w(g.randn({5, 4}));
  sum(y).backward();
  for (auto& t : w.parameters()) CHECK(t.grad().defined());
  w.zero_grad();
  for (auto& t : w.parameters()) CHECK(!t.grad().defined());
  CHECK_THROWS_AS((*w.main)[3], Error);
}

TEST_CASE("Sequential: names 0, 1, ... as in PyTorch", "[layers]") {
  Generator g(4);
  auto net = small_convnet(g);
  CHECK(net->size() == 5);
  CHECK(names_of(net->named_parameters()) ==
        std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "4.bias"});
  CHECK(names_of(net->named_buffers()) == std::vector<std::string>{"1.running_mean", "1.running_var"});
  CHECK((*net)(g.randn({2, 2, 5, 5})).shape() == Shape{2, 3});
}

TEST_CASE("state_dict round trip through safetensors", "[layers]") {
  Generator g1(5), g2(6);
  auto a = small_convnet(g1);
  auto b = small_convnet(g2);
  (*a)(g1.randn({4, 2, 5, 5}));  // moves a's running stats away from 0/1
  const std::string path = temp_path("ganglion_layers_sd");
  save_safetensors(path, a->state_dict());
  TensorMap loaded = load_safetensors(path);
  std::filesystem::remove(path);
  CHECK(loaded.size() == 8);
  b->load_state_dict(loaded);
  TensorMap sa = a->state_dict(), sb = b->state_dict();
  for (const auto& [name, t] : sa) {
    INFO(name);
    CHECK(sb.at(name).to_vector() == t.to_vector());
  }
  // Loading copies values: b's tensors are still its own.
  CHECK(sb.at("0.weight").impl() != sa.at("0.weight").impl());
  a->eval();
  b->eval();
  Tensor x = g1.randn({2, 2, 5, 5});
  CHECK((*a)(x).to_vector() == (*b)(x).to_vector());
}

TEST_CASE("load_state_dict errors name the keys and shapes", "[layers]") {
  Generator g(7);
  auto net = small_convnet(g);
  TensorMap sd = net->state_dict();

  TensorMap missing = sd;
  missing.erase("1.running_var");
  CHECK_THROWS_WITH(net->load_state_dict(missing), Catch::Contains("missing keys: 1.running_var"));
  CHECK_NOTHROW(net->load_state_dict(missing, /*strict=*/false));

  TensorMap extra = sd;
  extra["5.weight"] = zeros({3});
  CHECK_THROWS_WITH(net->load_state_dict(extra), Catch::Contains("unexpected keys: 5.weight"));
  CHECK_NOTHROW(net->load_state_dict(extra, false));

  TensorMap wrong = sd;
  wrong["0.weight"] = zeros({4, 2, 5, 5});
  CHECK_THROWS_WITH(net->load_state_dict(wrong), Catch::Contains("0.weight") &&
                                                     Catch::Contains("[4,2,3,3]") && Catch::Contains("[4,2,5,5]"));
  CHECK_THROWS_WITH(net->load_state_dict(wrong, false), Catch::Contains("shape mismatch"));

  // A failed load changes nothing.
  TensorMap bad = sd;
  bad["0.bias"] = full({4}, 7.f);
  bad["4.bias"] = zeros({9});
  const auto before = net->state_dict().at("0.bias").to_vector();
  CHECK_THROWS(net->load_state_dict(bad));
  CHECK(net->state_dict().at("0.bias").to_vector() == before);
}

TEST_CASE("BatchNorm2d: running stats update only in training", "[layers]") {
  Generator g(8);
  BatchNorm2d bn(3);
  CHECK(names_of(bn.named_parameters()) == std::vector<std::string>{"weight", "bias"});
  CHECK(names_of(bn.named_buffers()) == std::vector<std::string>{"running_mean", "running_var"});
  Tensor x = g.randn({4, 3, 5, 5}, Device::cpu(), 2.f, 3.f);
  const auto xv = x.to_vector();

  Tensor y = bn(x);
  const auto yv = y.to_vector();
  for (int64_t c = 0; c < 3; ++c) {
    std::vector<float> xc, yc;
    for (int64_t n = 0; n < 4; ++n)
      for (int64_t i = 0; i < 25; ++i) {
        xc.push_back(xv[(n * 3 + c) * 25 + i]);
        yc.push_back(yv[(n * 3 + c) * 25 + i]);
      }
    const double m = mean_of(xc), var = std_of(xc) * std_of(xc);
    INFO("channel " << c);
    CHECK(mean_of(yc) == Approx(0).margin(1e-5));
    CHECK(std_of(yc) == Approx(std::sqrt(var / (var + 1e-5))).epsilon(1e-4));
    CHECK(bn.running_mean.at({c}) == Approx(0.1 * m).epsilon(1e-4));
    CHECK(bn.running_var.at({c}) == Approx(0.9 + 0.1 * var * 100.0 / 99.0).epsilon(1e-4));
  }

  bn.eval();
  const auto rm = bn.running_mean.to_vector(), rv = bn.running_var.to_vector();
  Tensor ye = bn(x);
  CHECK(bn.running_mean.to_vector() == rm);
  CHECK(bn.running_var.to_vector() == rv);
  CHECK(ye.at({1, 2, 3, 4}) ==
        Approx((x.at({1, 2, 3, 4}) - rm[2]) / std::sqrt(rv[2] + 1e-5)).margin(1e-5));

  bn.train();
  bn(x);
  CHECK(bn.running_mean.to_vector() != rm);
}

TEST_CASE("BatchNorm1d, no running stats, LayerNorm", "[layers]") {
  Generator g(9);
  BatchNorm1d bn(4);
  CHECK(bn(g.randn({8, 4})).shape() == Shape{8, 4});
  CHECK(bn(g.randn({8, 4, 3})).shape() == Shape{8, 4, 3});
  CHECK_THROWS_WITH(bn(g.randn({8, 5})), Catch::Contains("[8,5]"));
  CHECK_THROWS_AS(bn(g.randn({2, 4, 3, 3})), Error);

  BatchNorm2d plain(2, {.affine = false, .track_running_stats = false});
  CHECK(plain.named_parameters().empty());
  CHECK(plain.named_buffers().empty());
  plain.eval();  // without running stats eval still normalises with the batch statistics
  Tensor y = plain(g.randn({3, 2, 4, 4}, Device::cpu(), 5.f, 2.f));
  CHECK(mean_of(y.to_vector()) == Approx(0).margin(1e-5));

  LayerNorm ln({4});
  CHECK(names_of(ln.named_parameters()) == std::vector<std::string>{"weight", "bias"});
  Tensor z = ln(g.randn({2, 3, 4}, Device::cpu(), 1.f, 2.f));
  CHECK(z.shape() == Shape{2, 3, 4});
  const auto zv = z.to_vector();
  CHECK(mean_of(std::vector<float>(zv.begin(), zv.begin() + 4)) == Approx(0).margin(1e-5));
  CHECK_THROWS_WITH(ln(g.randn({2, 3})), Catch::Contains("[2,3]"));
}

TEST_CASE("Activations, Flatten, Reshape", "[layers]") {
  Tensor x = from_vector({-2.f, -0.5f, 0.f, 1.5f}, {2, 2});
  CHECK(ReLU()(x).to_vector() == std::vector<float>{0.f, 0.f, 0.f, 1.5f});
  const auto l = LeakyReLU(0.2f)(x).to_vector();
  CHECK(l[0] == Approx(-0.4f));
  CHECK(l[3] == Approx(1.5f));
  CHECK(LeakyReLU().negative_slope == Approx(0.01f));
  CHECK(Tanh()(x).at({1, 1}) == Approx(std::tanh(1.5)));
  CHECK(Sigmoid()(x).at({0, 0}) == Approx(1.0 / (1.0 + std::exp(2.0))));

  Generator g(10);
  Tensor im = g.randn({2, 3, 4, 5});
  CHECK(Flatten()(im).shape() == Shape{2, 60});
  CHECK(Flatten(2)(im).shape() == Shape{2, 3, 20});
  CHECK(Reshape({-1, 3, 20})(im).shape() == Shape{2, 3, 20});
  CHECK(Reshape({2, 60})(im).to_vector() == im.to_vector());
  CHECK_THROWS_AS(Reshape({-1, -1}), Error);
}

TEST_CASE("Maxout groups consecutive features", "[layers]") {
  // x [2, 6], pieces 3: feature f is the max of x[:, 3f .. 3f+2].
  Tensor x = from_vector({1.f, 5.f, 2.f, -1.f, -3.f, -2.f,  //
                          0.f, 0.f, 9.f, 4.f, 8.f, 6.f},
                         {2, 6})
                 .set_requires_grad(true);
  Maxout mo(3);
  Tensor y = mo(x);
  CHECK(y.shape() == Shape{2, 2});
  CHECK(y.to_vector() == std::vector<float>{5.f, -1.f, 9.f, 8.f});
  sum(y).backward();
  CHECK(x.grad().to_vector() == std::vector<float>{0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0});
  CHECK_THROWS_WITH(mo(zeros({2, 7})), Catch::Contains("[2,7]"));
}

TEST_CASE("Initialisers: DCGAN, PyTorch default, Kaiming, Xavier", "[layers][init]") {
  Generator g(11);
  // DCGAN: a large transposed conv and a BatchNorm.
  Sequential net{std::make_shared<ConvTranspose2d>(256, 128, 4, g, ConvTranspose2dArgs{.bias = false}),
                 std::make_shared<BatchNorm2d>(512), std::make_shared<Conv2d>(64, 64, 3, g)};
  dcgan_init(net, g);
  const auto w = net.state_dict().at("0.weight").to_vector();  // 524288 values
  CHECK(std_of(w) == Approx(0.02).epsilon(0.01));
  CHECK(mean_of(w) == Approx(0).margin(2e-4));
  const auto bw = net.state_dict().at("1.weight").to_vector();
  CHECK(mean_of(bw) == Approx(1).margin(0.005));
  CHECK(std_of(bw) == Approx(0.02).epsilon(0.1));
  CHECK(max_abs(net.state_dict().at("1.bias").to_vector()) == 0.0);
  CHECK(max_abs(net.state_dict().at("2.bias").to_vector()) == 0.0);
  CHECK(std_of(net.state_dict().at("2.weight").to_vector()) == Approx(0.02).epsilon(0.05));

  // PyTorch's default: U(±1/sqrt(fan_in)) for weight and bias; fan_in of ConvTranspose2d's [in, out, k, k]
  // weight is out*k*k.
  Linear lin(400, 300, g);
  const double bound = 1.0 / std::sqrt(400.0);
  const auto lw = lin.weight.to_vector();
  CHECK(max_abs(lw) <= bound);
  CHECK(max_abs(lw) > 0.99 * bound);
  CHECK(std_of(lw) == Approx(bound / std::sqrt(3.0)).epsilon(0.01));
  CHECK(max_abs(lin.bias.to_vector()) <= bound);
  ConvTranspose2d ct(10, 64, 3, g);
  const double ct_bound = 1.0 / std::sqrt(64.0 * 9.0);
  CHECK(max_abs(ct.weight.to_vector()) <= ct_bound);
  CHECK(max_abs(ct.weight.to_vector()) > 0.95 * ct_bound);
  CHECK(compute_fans(ct.weight).fan_in == 64 * 9);
  CHECK(compute_fans(ct.weight).fan_out == 10 * 9);

  // Kaiming and Xavier bounds and standard deviations.
  Tensor t = Tensor::empty({256, 128, 3, 3});  // fan_in 1152, fan_out 2304
  kaiming_uniform_(t, g);
  const double kb = std::sqrt(6.0 / 1152.0);
  CHECK(max_abs(t.to_vector()) <= kb * (1 + 1e-6));
  CHECK(max_abs(t.to_vector()) > 0.999 * kb);
  kaiming_normal_(t, g, 0.2f);
  CHECK(std_of(t.to_vector()) == Approx(std::sqrt(2.0 / 1.04) / std::sqrt(1152.0)).epsilon(0.01));
  xavier_uniform_(t, g);
  const double xb = std::sqrt(6.0 / (1152.0 + 2304.0));
  CHECK(max_abs(t.to_vector()) <= xb * (1 + 1e-6));
  CHECK(max_abs(t.to_vector()) > 0.999 * xb);
  xavier_normal_(t, g, 2.f);
  CHECK(std_of(t.to_vector()) == Approx(2.0 * std::sqrt(2.0 / 3456.0)).epsilon(0.01));
  CHECK(calculate_gain("tanh") == Approx(5.0 / 3.0));
  CHECK_THROWS_AS(calculate_gain("swish"), Error);
  CHECK_THROWS_AS(kaiming_uniform_(lin.bias, g), Error);  // 1-D: no fan_in

  // The same seed gives the same weights.
  Generator ga(42), gb(42);
  CHECK(Conv2d(3, 8, 3, ga).weight.to_vector() == Conv2d(3, 8, 3, gb).weight.to_vector());
}

namespace {

// f(p) = 0.5 * sum(c * p^2), so df/dp = c * p.
const std::vector<float> kP0 = {1.f, -2.f, 0.5f};
const std::vector<float> kC = {1.f, 2.f, 3.f};

void quadratic_backward(Tensor& p) {
  Tensor c = from_vector(kC, {3}, p.device());
  mul_scalar(sum(mul(mul(c, p), p)), 0.5f).backward();
}

template <class Update>
std::vector<double> hand_steps(int steps, double wd, Update update) {
  std::vector<double> out;
  for (size_t i = 0; i < kP0.size(); ++i) {
    double p = kP0[i];
    for (int t = 1; t <= steps; ++t) update(p, kC[i] * p + wd * p, t, i);
    out.push_back(p);
  }
  return out;
}

void run_optimizer(Optimizer& opt, Tensor& p, int steps) {
  for (int t = 0; t < steps; ++t) {
    opt.zero_grad();
    quadratic_backward(p);
    opt.step();
  }
}

void check_close(const std::vector<float>& got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i);
    CHECK(got[i] == Approx(want[i]).epsilon(1e-5).margin(1e-7));
  }
}

}  // namespace

TEST_CASE("Adam: two steps on a quadratic", "[layers][optim]") {
  for (float wd : {0.f, 0.1f}) {
    INFO("weight_decay " << wd);
    Tensor p = from_vector(kP0, {3}).set_requires_grad(true);
    Adam opt({p}, 0.1f, 0.9f, 0.999f, 1e-8f, wd);
    run_optimizer(opt, p, 2);
    std::vector<double> m(3, 0.0), v(3, 0.0);
    const auto want = hand_steps(2, wd, [&](double& x, double g, int t, size_t i) {
      m[i] = 0.9 * m[i] + 0.1 * g;
      v[i] = 0.999 * v[i] + 0.001 * g * g;
      const double mhat = m[i] / (1 - std::pow(0.9, t)), vhat = v[i] / (1 - std::pow(0.999, t));
      x -= 0.1 * mhat / (std::sqrt(vhat) + 1e-8);
    });
    check_close(p.to_vector(), want);
    if (wd == 0.f) CHECK(p.at({0}) == Approx(0.800412).epsilon(1e-5));  // worked by hand: 0.9, then 0.800412
    CHECK(opt.step_count() == 2);
  }
}

TEST_CASE("RMSprop: two steps on a quadratic", "[layers][optim]") {
  for (float wd : {0.f, 0.1f}) {
    INFO("weight_decay " << wd);
    Tensor p = from_vector(kP0, {3}).set_requires_grad(true);
    RMSprop opt({p}, 0.01f, 0.99f, 1e-8f, wd);
    run_optimizer(opt, p, 2);
    std::vector<double> sq(3, 0.0);
    const auto want = hand_steps(2, wd, [&](double& x, double g, int, size_t i) {
      sq[i] = 0.99 * sq[i] + 0.01 * g * g;
      x -= 0.01 * g / (std::sqrt(sq[i]) + 1e-8);
    });
    check_close(p.to_vector(), want);
    // By hand for p0 = 1, c = 1: sq = 0.01, p = 1 - 0.01/0.1 = 0.9; then g = 0.9, sq = 0.0099 + 0.0081 = 0.018,
    // p = 0.9 - 0.009/sqrt(0.018) = 0.832918.
    if (wd == 0.f) CHECK(p.at({0}) == Approx(0.832918).epsilon(1e-5));
  }
}

TEST_CASE("SGD with momentum: two steps on a quadratic", "[layers][optim]") {
  for (float wd : {0.f, 0.1f}) {
    INFO("weight_decay " << wd);
    Tensor p = from_vector(kP0, {3}).set_requires_grad(true);
    SGD opt({p}, 0.1f, 0.9f, wd);
    run_optimizer(opt, p, 2);
    std::vector<double> buf(3, 0.0);
    const auto want = hand_steps(2, wd, [&](double& x, double g, int t, size_t i) {
      buf[i] = t == 1 ? g : 0.9 * buf[i] + g;
      x -= 0.1 * buf[i];
    });
    check_close(p.to_vector(), want);
    // By hand for p0 = 1, c = 1: 1 - 0.1 = 0.9, then buf = 0.9 + 0.9 = 1.8, p = 0.9 - 0.18 = 0.72.
    if (wd == 0.f) CHECK(p.at({0}) == Approx(0.72));
  }
  Tensor q = from_vector(kP0, {3}).set_requires_grad(true);
  SGD plain({q}, 0.5f);
  run_optimizer(plain, q, 1);
  check_close(q.to_vector(), {0.5, -2.0 + 0.5 * 4.0, 0.5 - 0.5 * 1.5});
  CHECK(plain.state_dict().count("param.0.momentum_buffer") == 0);
}

TEST_CASE("Optimizers skip parameters without a gradient", "[layers][optim]") {
  Tensor p = from_vector(kP0, {3}).set_requires_grad(true);
  Tensor unused = from_vector({3.f, 4.f}, {2}).set_requires_grad(true);
  Adam opt({unused, p}, 0.1f);
  run_optimizer(opt, p, 2);
  CHECK(unused.to_vector() == std::vector<float>{3.f, 4.f});
  TensorMap sd = opt.state_dict();
  CHECK(sd.count("param.0.exp_avg") == 0);
  CHECK(sd.count("param.1.exp_avg") == 1);
  CHECK(sd.at("param.1.step").item() == 2.f);
  CHECK(sd.at("step").item() == 2.f);
}

TEST_CASE("Optimizer state_dict round trip continues identically", "[layers][optim]") {
  auto check_resume = [](auto make) {
    Tensor a = from_vector(kP0, {3}).set_requires_grad(true);
    auto opt_a = make(a);
    run_optimizer(opt_a, a, 2);

    const std::string path = temp_path("ganglion_optim_sd");
    save_safetensors(path, opt_a.state_dict());
    TensorMap loaded = load_safetensors(path);
    std::filesystem::remove(path);

    Tensor b = from_vector(a.to_vector(), {3}).set_requires_grad(true);
    auto opt_b = make(b);
    opt_b.set_lr(123.f);  // restored from the state
    opt_b.load_state_dict(loaded);
    CHECK(opt_b.lr() == opt_a.lr());
    CHECK(opt_b.step_count() == 2);
    run_optimizer(opt_a, a, 2);
    run_optimizer(opt_b, b, 2);
    CHECK(a.to_vector() == b.to_vector());

    // A fresh optimizer (no state) would have diverged: the state really carried over.
    Tensor c = from_vector(kP0, {3}).set_requires_grad(true);
    auto opt_c = make(c);
    run_optimizer(opt_c, c, 2);
    Tensor d = from_vector(c.to_vector(), {3}).set_requires_grad(true);
    auto opt_d = make(d);
    run_optimizer(opt_d, d, 2);
    CHECK(d.to_vector() != a.to_vector());
  };
  check_resume([](Tensor& p) { return Adam({p}, 0.1f, 0.5f, 0.999f); });
  check_resume([](Tensor& p) { return RMSprop({p}, 0.01f); });
  check_resume([](Tensor& p) { return SGD({p}, 0.1f, 0.9f); });

  Tensor p = from_vector(kP0, {3}).set_requires_grad(true);
  Adam opt({p}, 0.1f);
  run_optimizer(opt, p, 1);
  TensorMap sd = opt.state_dict();
  TensorMap bad = sd;
  bad["param.0.exp_avg"] = zeros({4});
  CHECK_THROWS_WITH(opt.load_state_dict(bad), Catch::Contains("param.0.exp_avg") && Catch::Contains("[4]") &&
                                                  Catch::Contains("[3]"));
  bad = sd;
  bad["param.5.exp_avg"] = zeros({3});
  CHECK_THROWS_WITH(opt.load_state_dict(bad), Catch::Contains("parameter 5"));
  bad = sd;
  bad["param.0.momentum"] = zeros({3});
  CHECK_THROWS_WITH(opt.load_state_dict(bad), Catch::Contains("unexpected key 'param.0.momentum'"));
  bad = sd;
  bad.erase("param.0.exp_avg_sq");
  CHECK_THROWS_WITH(opt.load_state_dict(bad), Catch::Contains("missing key 'param.0.exp_avg_sq'"));
}

TEST_CASE("Module::to(cuda) keeps handles valid for layers and optimizers", "[layers][cuda]") {
  std::string why;
  if (!cuda_available(&why)) {
    WARN("skipped: " + why);
    return;
  }
  Generator g(12);
  auto net = small_convnet(g);
  Adam opt(net->parameters(), 1e-2f);  // made before the move: its handles follow the parameters
  Tensor x = g.randn({4, 2, 5, 5});
  opt.zero_grad();
  sum((*net)(x)).backward();
  opt.step();  // state made on the CPU
  const TensorMap cpu_state = net->state_dict();

  net->to(Device::cuda());
  for (auto& [name, t] : net->named_parameters()) CHECK(t.device() == Device::cuda());
  for (auto& [name, t] : net->named_buffers()) CHECK(t.device() == Device::cuda());
  for (auto& t : opt.params()) CHECK(t.device() == Device::cuda());
  CHECK(std::dynamic_pointer_cast<Conv2d>((*net)[0])->weight.device() == Device::cuda());
  for (const auto& [name, t] : net->state_dict()) CHECK(t.to_vector() == cpu_state.at(name).to_vector());

  opt.zero_grad();
  sum((*net)(x.to(Device::cuda()))).backward();
  opt.step();  // moves its state to the parameters' device
  for (const auto& [name, t] : opt.state_dict())
    if (name.find("exp_avg") != std::string::npos) CHECK(t.device() == Device::cuda());

  net->load_state_dict(cpu_state);  // host -> device copies
  for (const auto& [name, t] : net->state_dict()) CHECK(t.to_vector() == cpu_state.at(name).to_vector());
  net->to(Device::cpu());
  CHECK(net->parameters()[0].device() == Device::cpu());
}
