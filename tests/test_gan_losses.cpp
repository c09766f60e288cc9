// tests/test_gan_losses.cpp — each adversarial loss on fixed logits against hand-computed values, label
// smoothing, the names, and the penalties' basic contracts (WGAN-GP zero for a 1-Lipschitz linear critic, R1 of
// a linear critic, weight clipping).
#include <catch2/catch.hpp>

#include <cmath>

#include "core/ops.h"
#include "gan/losses.h"
#include "gan/penalty.h"
#include "layers/linear.h"

using namespace ganglion;

namespace {
double sp(double x) { return std::log1p(std::exp(x)); }  // softplus
}  // namespace

TEST_CASE("adversarial losses match hand-computed values", "[gan][losses]") {
  Tensor r = from_vector({1.f, -2.f}, {2, 1});
  Tensor f = from_vector({0.5f, 3.f}, {2, 1});
  const double bce_real = (sp(-1) + sp(2)) / 2, bce_fake = (sp(0.5) + sp(3)) / 2;
  for (GanLoss l : {GanLoss::Minimax, GanLoss::NonSaturating})
    CHECK(d_loss(l, r, f).item() == Approx(bce_real + bce_fake).epsilon(1e-5));
  CHECK(g_loss(GanLoss::Minimax, f).item() == Approx(-bce_fake).epsilon(1e-5));
  CHECK(g_loss(GanLoss::NonSaturating, f).item() == Approx((sp(-0.5) + sp(-3)) / 2).epsilon(1e-5));
  CHECK(d_loss(GanLoss::Wasserstein, r, f).item() == Approx(1.75 - (-0.5)));
  CHECK(g_loss(GanLoss::Wasserstein, f).item() == Approx(-1.75));
  // hinge: mean(relu(1 - r)) = (0 + 3)/2; mean(relu(1 + f)) = (1.5 + 4)/2
  CHECK(d_loss(GanLoss::Hinge, r, f).item() == Approx(1.5 + 2.75));
  CHECK(g_loss(GanLoss::Hinge, f).item() == Approx(-1.75));
  // least squares: ((0 + 9)/2 + (0.25 + 9)/2) / 2
  CHECK(d_loss(GanLoss::LeastSquares, r, f).item() == Approx((4.5 + 4.625) / 2));
  CHECK(g_loss(GanLoss::LeastSquares, f).item() == Approx((0.25 + 4) / 2 / 2));
}

TEST_CASE("one-sided label smoothing changes only the real target", "[gan][losses]") {
  Tensor r = from_vector({1.f, -2.f}, {2});
  Tensor f = from_vector({0.5f, 3.f}, {2});
  const double t = 0.9;
  double real = (t * sp(-1) + (1 - t) * sp(1) + t * sp(2) + (1 - t) * sp(-2)) / 2;
  double fake = (sp(0.5) + sp(3)) / 2;
  CHECK(d_loss(GanLoss::NonSaturating, r, f, 0.1f).item() == Approx(real + fake).epsilon(1e-5));
  CHECK(d_loss(GanLoss::LeastSquares, r, f, 0.1f).item() ==
        Approx(((0.01 + 2.9 * 2.9) / 2 + (0.25 + 9) / 2) / 2).epsilon(1e-5));
}

TEST_CASE("loss and penalty names round-trip; unknown names are errors", "[gan][losses]") {
  for (const auto& n : gan_loss_names()) CHECK(gan_loss_name(parse_gan_loss(n)) == n);
  for (const auto& n : penalty_names()) CHECK(penalty_name(parse_penalty(n)) == n);
  CHECK_THROWS_WITH(parse_gan_loss("wgan"), Catch::Contains("unknown loss 'wgan'"));
  CHECK_THROWS_WITH(parse_penalty("gp2"), Catch::Contains("unknown penalty 'gp2'"));
}

TEST_CASE("penalties on a linear critic have their closed forms", "[gan][penalty]") {
  Generator g(1);
  Linear critic(2, 1, g);
  // weight (0.6, 0.8): ||grad|| = 1 everywhere, so WGAN-GP is 0; R1 = gamma/2 * 1.
  copy_(critic.weight, from_vector({0.6f, 0.8f}, {1, 2}));
  Tensor real = g.randn({8, 2}), fake = g.randn({8, 2});
  uint64_t before = g.offset();
  CHECK(wgan_gp(critic, real, fake, 10.f, g).item() == Approx(0.0).margin(1e-5));
  CHECK(g.offset() > before);  // eps came from the generator
  CHECK(r1_penalty(critic, real, 4.f).item() == Approx(2.0).epsilon(1e-5));
  // weight (3, 4): ||grad|| = 5, WGAN-GP = lambda * 16.
  copy_(critic.weight, from_vector({3.f, 4.f}, {1, 2}));
  CHECK(wgan_gp(critic, real, fake, 10.f, g).item() == Approx(160.0).epsilon(1e-4));
  // The penalty is differentiable in the critic's weights (double backward): d/dw of lambda*(||w||-1)^2.
  Tensor gp = wgan_gp(critic, real, fake, 1.f, g);
  critic.zero_grad();
  gp.backward();
  std::vector<float> gw = critic.weight.grad().to_vector();
  CHECK(gw[0] == Approx(2 * 4 * 3 / 5.0).epsilon(1e-4));
  CHECK(gw[1] == Approx(2 * 4 * 4 / 5.0).epsilon(1e-4));
  // Grouped (packed) inputs: rows pair up, so a batch of 7 cannot be split into pairs.
  CHECK_THROWS_WITH(wgan_gp(critic, g.randn({7, 2}), g.randn({7, 2}), 1.f, g, 2), Catch::Contains("groups of 2"));
  clip_weights(critic, 0.5f);
  for (float v : critic.weight.to_vector()) CHECK(std::fabs(v) <= 0.5f);
}
