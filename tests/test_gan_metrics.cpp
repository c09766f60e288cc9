// tests/test_gan_metrics.cpp — the PacGAN 2-D metrics on constructed samples with known modes, HQ fraction and
// reverse KL, and the built-in mixtures' sampler (determinism, statistics).
#include <catch2/catch.hpp>

#include <cmath>

#include "core/rng.h"
#include "gan/data2d.h"
#include "gan/metrics2d.h"

using namespace ganglion;

TEST_CASE("mode_metrics counts modes, HQ samples and the reverse KL", "[gan][metrics]") {
  Mixture2d ring = mixture2d("ring8");
  std::vector<float> xy;
  auto add = [&](float x, float y, int n) {
    for (int i = 0; i < n; ++i) xy.push_back(x), xy.push_back(y);
  };
  add(ring.means[0][0], ring.means[0][1], 10);          // 10 exactly at mode 0
  add(ring.means[1][0] + 0.029f, ring.means[1][1], 5);  // 5 at 2.9 std from mode 1
  add(ring.means[2][0] + 0.031f, ring.means[2][1], 3);  // 3 at 3.1 std from mode 2: not HQ
  add(0.f, 0.f, 2);                                     // 2 far from every mode
  ModeMetrics m = mode_metrics(from_vector(xy, {20, 2}), ring);
  CHECK(m.samples == 20);
  CHECK(m.modes_total == 8);
  CHECK(m.modes_captured == 2);
  CHECK(m.hq_fraction == Approx(15.0 / 20.0));
  CHECK(m.counts[0] == 10);
  CHECK(m.counts[1] == 5);
  CHECK(m.counts[2] == 0);
  const double p0 = 10.0 / 15.0, p1 = 5.0 / 15.0;
  CHECK(m.reverse_kl == Approx(p0 * std::log(p0 * 8) + p1 * std::log(p1 * 8)));
}

TEST_CASE("mode_metrics: uniform coverage has zero KL; no HQ sample gives log K", "[gan][metrics]") {
  Mixture2d grid = mixture2d("grid25");
  std::vector<float> xy;
  for (const auto& mu : grid.means)
    for (int i = 0; i < 4; ++i) xy.push_back(mu[0]), xy.push_back(mu[1]);
  ModeMetrics all = mode_metrics(xy, grid.means, grid.std);
  CHECK(all.modes_captured == 25);
  CHECK(all.hq_fraction == Approx(1.0));
  CHECK(all.reverse_kl == Approx(0.0).margin(1e-12));

  ModeMetrics none = mode_metrics(std::vector<float>{1.f, 1.f, -3.f, 3.f}, grid.means, grid.std);
  CHECK(none.modes_captured == 0);
  CHECK(none.hq_fraction == 0.0);
  CHECK(none.reverse_kl == Approx(std::log(25.0)));

  std::vector<float> one_mode = {2.f, 2.f, 2.01f, 2.f};
  CHECK(mode_metrics(one_mode, grid.means, grid.std).reverse_kl == Approx(std::log(25.0)));
}

TEST_CASE("mode_metrics rejects datasets without modes and bad shapes", "[gan][metrics]") {
  CHECK_THROWS_WITH(mode_metrics(zeros({4, 2}), mixture2d("swissroll")), Catch::Contains("no modes"));
  CHECK_THROWS_WITH(mode_metrics(zeros({4, 3}), mixture2d("ring8")), Catch::Contains("[4,3]"));
  CHECK_THROWS_WITH(mixture2d("moons"), Catch::Contains("unknown 2-D dataset 'moons'"));
}

TEST_CASE("the built-in mixtures sample deterministically and match their own metrics", "[gan][data]") {
  for (const char* name : {"ring8", "grid25"}) {
    Mixture2d m = mixture2d(name);
    Generator g1(7), g2(7);
    Tensor a = sample_mixture2d(m, 2500, g1), b = sample_mixture2d(m, 2500, g2);
    CHECK(a.to_vector() == b.to_vector());
    CHECK(g1.offset() == g2.offset());
    CHECK(g1.offset() > 0);
    ModeMetrics r = mode_metrics(a, m);
    INFO(name);
    CHECK(r.modes_captured == static_cast<int>(m.means.size()));
    // P(|z| <= 3) for a 2-D standard normal is 1 - exp(-4.5) = 0.9889.
    CHECK(r.hq_fraction == Approx(0.9889).margin(0.01));
    CHECK(r.reverse_kl < 0.05);
  }
  Generator g(3);
  Tensor s = sample_mixture2d(mixture2d("swissroll"), 1000, g);
  float rmax = 0;
  std::vector<float> v = s.to_vector();
  for (size_t i = 0; i < v.size(); i += 2) rmax = std::max(rmax, std::hypot(v[i], v[i + 1]));
  CHECK(rmax < 2.2f);
  CHECK(rmax > 1.5f);
}
