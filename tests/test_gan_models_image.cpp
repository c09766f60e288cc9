// tests/test_gan_models_image.cpp — the DCGAN-style image models (gan/models_image.h): output shapes for every
// supported size and channel count, PyTorch Sequential parameter names, no BatchNorm in a WGAN-GP critic, bad
// sizes rejected, and one DCGAN and one WGAN-GP training iteration at tiny widths that changes the weights.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/rng.h"
#include "gan/losses.h"
#include "gan/models_image.h"
#include "gan/penalty.h"
#include "layers/norm.h"
#include "layers/optim.h"

using namespace ganglion;

namespace {

ImageGanSpec tiny_spec(int64_t size, int64_t channels, ImageNorm norm = ImageNorm::BatchNorm) {
  ImageGanSpec s;
  s.image_size = size;
  s.channels = channels;
  s.nz = 8;
  s.ngf = 4;
  s.ndf = 4;
  s.d_norm = norm;
  return s;
}

std::map<std::string, Shape> shapes_by_name(const NamedTensors& named) {
  std::map<std::string, Shape> out;
  for (const auto& [name, t] : named) out[name] = t.shape();
  return out;
}

// Copies of every parameter's values, to see which ones a step changed.
std::vector<std::vector<float>> snapshot(Module& m) {
  std::vector<std::vector<float>> out;
  for (const Tensor& p : m.parameters()) out.push_back(p.to_vector());
  return out;
}

int count_changed(Module& m, const std::vector<std::vector<float>>& before) {
  int changed = 0;
  auto params = m.parameters();
  for (size_t i = 0; i < params.size(); ++i)
    if (params[i].to_vector() != before[i]) ++changed;
  return changed;
}

}  // namespace

TEST_CASE("image models: output shapes for every supported size and channel count", "[model][image]") {
  for (int64_t size : {16, 28, 32, 64, 128}) {
    for (int64_t channels : {1, 3}) {
      INFO("size " << size << ", channels " << channels);
      Generator g(1);
      const ImageGanSpec s = tiny_spec(size, channels);
      auto G = make_image_generator(s, g);
      auto D = make_image_discriminator(s, g);
      NoGradGuard ng;
      Tensor z = g.randn({2, s.nz, 1, 1});
      Tensor x = (*G)(z);
      CHECK(x.shape() == Shape{2, channels, size, size});
      const auto v = x.to_vector();
      CHECK(*std::max_element(v.begin(), v.end()) <= 1.f);
      CHECK(*std::min_element(v.begin(), v.end()) >= -1.f);
      CHECK((*D)(x).shape() == Shape{2, 1});
    }
  }
}

TEST_CASE("image models: layer layout and parameter names as PyTorch's Sequential", "[model][image]") {
  Generator g(2);
  ImageGanSpec s = tiny_spec(64, 3);
  auto G = make_image_generator(s, g);
  // pytorch/examples' DCGAN at 64: ConvT 8*ngf (4x4), 4*ngf, 2*ngf, ngf, channels; BN + ReLU after all but the last.
  auto gp = shapes_by_name(G->named_parameters());
  CHECK(gp.size() == 5 + 2 * 4);
  CHECK(gp.at("0.weight") == Shape{8, 32, 4, 4});
  CHECK(gp.at("1.weight") == Shape{32});
  CHECK(gp.at("3.weight") == Shape{32, 16, 4, 4});
  CHECK(gp.at("12.weight") == Shape{4, 3, 4, 4});
  CHECK(gp.count("0.bias") == 0);  // no conv biases
  auto gb = shapes_by_name(G->named_buffers());
  CHECK(gb.at("1.running_mean") == Shape{32});
  CHECK(G->size() == 14);  // 4 x (ConvT, BN, ReLU) + ConvT + Tanh

  auto D = make_image_discriminator(s, g);
  auto dp = shapes_by_name(D->named_parameters());
  CHECK(dp.at("0.weight") == Shape{4, 3, 4, 4});
  CHECK(dp.at("2.weight") == Shape{8, 4, 4, 4});
  CHECK(dp.at("3.weight") == Shape{8});  // BatchNorm2d
  CHECK(dp.at("11.weight") == Shape{1, 32, 4, 4});
  CHECK(D->size() == 13);  // Conv, LReLU, 3 x (Conv, BN, LReLU), Conv, Flatten

  // 28x28: ConvT(nz, 2*ngf, 7) -> 14 -> 28, and D's last conv has a 7x7 kernel.
  s = tiny_spec(28, 1);
  auto G28 = make_image_generator(s, g);
  auto D28 = make_image_discriminator(s, g);
  CHECK(shapes_by_name(G28->named_parameters()).at("0.weight") == Shape{8, 8, 7, 7});
  CHECK(shapes_by_name(D28->named_parameters()).at("5.weight") == Shape{1, 8, 7, 7});
}

TEST_CASE("image models: the WGAN-GP critic has no BatchNorm", "[model][image]") {
  for (ImageNorm norm : {ImageNorm::LayerNorm, ImageNorm::None}) {
    Generator g(3);
    auto D = make_image_discriminator(tiny_spec(32, 3, norm), g);
    int batchnorms = 0, layernorms = 0;
    D->apply([&](Module& m) {
      if (dynamic_cast<BatchNorm*>(&m)) ++batchnorms;
      if (dynamic_cast<LayerNorm*>(&m)) ++layernorms;
    });
    CHECK(batchnorms == 0);
    CHECK(D->named_buffers().empty());
    CHECK(layernorms == (norm == ImageNorm::LayerNorm ? 2 : 0));
    if (norm == ImageNorm::LayerNorm)
      CHECK(shapes_by_name(D->named_parameters()).at("3.weight") == Shape{8, 8, 8});  // LayerNorm([C, H, W])
  }
  CHECK(parse_image_norm("layernorm") == ImageNorm::LayerNorm);
  CHECK_THROWS_WITH(parse_image_norm("groupnorm"), Catch::Contains("batchnorm, layernorm, none"));
}

TEST_CASE("image models: a packed critic scores m images stacked along the channels", "[model][image]") {
  Generator g(6);
  ImageGanSpec s = tiny_spec(28, 3);
  s.pack = 2;
  auto D = make_image_discriminator(s, g);
  // Reshape first, so the first conv is "1." and sees 2 x 3 channels.
  auto dp = shapes_by_name(D->named_parameters());
  CHECK(dp.at("1.weight") == Shape{4, 6, 4, 4});
  CHECK(dp.count("0.weight") == 0);
  CHECK(D->size() == 7 + 1);
  D->eval();  // BatchNorm on running statistics: each critic input is scored on its own
  NoGradGuard ng;
  Tensor x = g.randn({6, 3, 28, 28});
  Tensor y = (*D)(x);
  REQUIRE(y.shape() == Shape{3, 1});
  // Changing image 3 (the second of pair 1) changes only the score of critic input 1.
  std::vector<float> v = x.to_vector();
  for (size_t i = 3 * 3 * 28 * 28; i < 4 * 3 * 28 * 28; ++i) v[i] = -v[i];
  Tensor y2 = (*D)(from_vector(v, x.shape()));
  CHECK(y2.to_vector()[0] == y.to_vector()[0]);
  CHECK(y2.to_vector()[1] != y.to_vector()[1]);
  CHECK(y2.to_vector()[2] == y.to_vector()[2]);
  // Swapping the two images of a pair changes its score: the order within a pack is seen (as in PacGAN).
  std::vector<float> w = x.to_vector();
  const size_t img = 3 * 28 * 28;
  std::swap_ranges(w.begin(), w.begin() + img, w.begin() + img);
  CHECK((*D)(from_vector(w, x.shape())).to_vector()[0] != y.to_vector()[0]);
  // A batch that does not split into pairs is an error naming the reshape and the shapes.
  CHECK_THROWS_WITH((*D)(g.randn({5, 3, 28, 28})), Catch::Contains("reshape") && Catch::Contains("[-1,6,28,28]"));
  s.pack = 0;
  CHECK_THROWS_WITH(make_image_discriminator(s, g), Catch::Contains("pack"));
}

TEST_CASE("image models: unsupported sizes are errors naming the size", "[model][image]") {
  Generator g(4);
  for (int64_t bad : {8, 24, 48, 256}) {
    INFO("size " << bad);
    CHECK_THROWS_WITH(make_image_generator(tiny_spec(bad, 1), g), Catch::Contains(std::to_string(bad)));
  }
  ImageGanSpec s = tiny_spec(32, 0);
  CHECK_THROWS_WITH(make_image_discriminator(s, g), Catch::Contains("channels"));
}

TEST_CASE("image models: one DCGAN and one WGAN-GP iteration change every weight", "[model][image]") {
  Generator g(5);
  const int64_t n = 4;
  SECTION("DCGAN, 16x16x3") {
    const ImageGanSpec s = tiny_spec(16, 3);
    auto G = make_image_generator(s, g);
    auto D = make_image_discriminator(s, g);
    Adam opt_g(G->parameters(), 2e-4f, 0.5f, 0.999f), opt_d(D->parameters(), 2e-4f, 0.5f, 0.999f);
    auto g0 = snapshot(*G), d0 = snapshot(*D);
    Tensor real = g.rand({n, 3, 16, 16}, Device::cpu(), -1.f, 1.f);
    Tensor fake = (*G)(g.randn({n, s.nz, 1, 1}));
    Tensor out_real = (*D)(real);
    Tensor out_fake = (*D)(fake.detach());
    Tensor ld = d_loss(GanLoss::NonSaturating, out_real, out_fake);
    opt_d.zero_grad();
    ld.backward();
    opt_d.step();
    Tensor lg = g_loss(GanLoss::NonSaturating, (*D)(fake));
    opt_g.zero_grad();
    lg.backward();
    opt_g.step();
    CHECK(std::isfinite(ld.item()));
    CHECK(std::isfinite(lg.item()));
    CHECK(count_changed(*G, g0) == static_cast<int>(g0.size()));
    CHECK(count_changed(*D, d0) == static_cast<int>(d0.size()));
  }
  SECTION("WGAN-GP with a LayerNorm critic, 28x28x1") {
    const ImageGanSpec s = tiny_spec(28, 1, ImageNorm::LayerNorm);
    auto G = make_image_generator(s, g);
    auto D = make_image_discriminator(s, g);
    Adam opt_g(G->parameters(), 1e-4f, 0.5f, 0.9f), opt_d(D->parameters(), 1e-4f, 0.5f, 0.9f);
    auto g0 = snapshot(*G), d0 = snapshot(*D);
    Tensor real = g.rand({n, 1, 28, 28}, Device::cpu(), -1.f, 1.f);
    Tensor fake;
    {
      NoGradGuard ng;
      fake = (*G)(g.randn({n, s.nz, 1, 1}));
    }
    Tensor out_real = (*D)(real);
    Tensor out_fake = (*D)(fake);
    Tensor ld = add(d_loss(GanLoss::Wasserstein, out_real, out_fake), wgan_gp(*D, real, fake, 10.f, g));
    opt_d.zero_grad();
    ld.backward();
    opt_d.step();
    Tensor lg = g_loss(GanLoss::Wasserstein, (*D)((*G)(g.randn({n, s.nz, 1, 1}))));
    opt_g.zero_grad();
    lg.backward();
    opt_g.step();
    CHECK(std::isfinite(ld.item()));
    CHECK(count_changed(*G, g0) == static_cast<int>(g0.size()));
    CHECK(count_changed(*D, d0) == static_cast<int>(d0.size()));
  }
}
