// gan/metrics2d.cpp — modes captured, % high quality and reverse KL of the mode histogram (PacGAN's protocol).
#include "gan/metrics2d.h"

#include <cmath>
#include <limits>

#include "kernels/common.h"

namespace ganglion {

ModeMetrics mode_metrics(const std::vector<float>& xy, const std::vector<std::array<float, 2>>& means, float std) {
  if (means.empty()) throw Error("mode_metrics: the dataset has no modes (e.g. swissroll)");
  if (xy.size() % 2 != 0) throw Error("mode_metrics: expected (x, y) pairs");
  ModeMetrics r;
  r.samples = static_cast<int64_t>(xy.size() / 2);
  r.modes_total = static_cast<int>(means.size());
  r.counts.assign(means.size(), 0);
  const double limit = 3.0 * std;
  int64_t hq = 0;
  for (int64_t i = 0; i < r.samples; ++i) {
    double x = xy[2 * i], y = xy[2 * i + 1];
    double best = std::numeric_limits<double>::infinity();
    size_t arg = 0;
    for (size_t k = 0; k < means.size(); ++k) {
      double dx = x - means[k][0], dy = y - means[k][1];
      double d2 = dx * dx + dy * dy;
      if (d2 < best) best = d2, arg = k;
    }
    if (std::sqrt(best) <= limit) {  // a NaN sample is never HQ
      ++hq;
      ++r.counts[arg];
    }
  }
  const double K = static_cast<double>(means.size());
  r.hq_fraction = r.samples > 0 ? static_cast<double>(hq) / static_cast<double>(r.samples) : 0.0;
  if (hq == 0) {
    r.reverse_kl = std::log(K);
    return r;
  }
  for (int64_t c : r.counts) {
    if (c == 0) continue;
    ++r.modes_captured;
    double p = static_cast<double>(c) / static_cast<double>(hq);
    r.reverse_kl += p * std::log(p * K);
  }
  return r;
}

ModeMetrics mode_metrics(const Tensor& samples, const Mixture2d& m) {
  if (samples.dim() != 2 || samples.size(1) != 2)
    throw Error("mode_metrics: expected samples [N, 2], got " + shape_str(samples.shape()));
  return mode_metrics(samples.to_vector(), m.means, m.std);
}

}  // namespace ganglion
