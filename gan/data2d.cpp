// gan/data2d.cpp — the 2-D toy mixtures and their sampler (drawn on the host from Philox numbers, then moved).
#include "gan/data2d.h"

#include <cmath>
#include <numbers>

#include "kernels/common.h"

namespace ganglion {

const std::vector<std::string>& mixture2d_names() {
  static const std::vector<std::string> names = {"ring8", "grid25", "swissroll"};
  return names;
}

Mixture2d mixture2d(const std::string& name) {
  Mixture2d m;
  m.name = name;
  if (name == "ring8") {
    for (int k = 0; k < 8; ++k) {
      double a = 2.0 * std::numbers::pi * k / 8.0;
      m.means.push_back({static_cast<float>(std::cos(a)), static_cast<float>(std::sin(a))});
    }
    m.std = 0.01f;
  } else if (name == "grid25") {
    for (int i = -2; i <= 2; ++i)
      for (int j = -2; j <= 2; ++j) m.means.push_back({2.f * i, 2.f * j});
    m.std = 0.05f;
  } else if (name == "swissroll") {
    m.std = 0.25f;  // the noise of sklearn's make_swiss_roll(noise=0.25) before scaling by 1/7.5
  } else {
    std::string list;
    for (const auto& n : mixture2d_names()) list += (list.empty() ? "" : ", ") + n;
    throw Error("unknown 2-D dataset '" + name + "' (expected one of: " + list + ")");
  }
  return m;
}

Tensor sample_mixture2d(const Mixture2d& m, int64_t n, Generator& g, Device d) {
  if (n <= 0) throw Error("sample_mixture2d: n must be positive, got " + std::to_string(n));
  std::vector<float> u = g.rand({n}).to_vector();
  std::vector<float> z = g.randn({n, 2}).to_vector();
  std::vector<float> out(static_cast<size_t>(n) * 2);
  for (int64_t i = 0; i < n; ++i) {
    float x, y;
    if (m.has_modes()) {
      auto k = static_cast<size_t>(u[i] * static_cast<float>(m.means.size()));
      if (k >= m.means.size()) k = m.means.size() - 1;
      x = m.means[k][0] + m.std * z[2 * i];
      y = m.means[k][1] + m.std * z[2 * i + 1];
    } else {  // swiss roll: t in [1.5pi, 4.5pi], (t cos t, t sin t) + noise, scaled by 1/7.5
      double t = 1.5 * std::numbers::pi * (1.0 + 2.0 * u[i]);
      x = static_cast<float>((t * std::cos(t) + m.std * z[2 * i]) / 7.5);
      y = static_cast<float>((t * std::sin(t) + m.std * z[2 * i + 1]) / 7.5);
    }
    out[2 * i] = x;
    out[2 * i + 1] = y;
  }
  return from_vector(out, {n, 2}, d);
}

}  // namespace ganglion
