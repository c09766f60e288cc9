// gan/metrics2d.h — the PacGAN mode-coverage protocol for 2-D mixtures: a sample is high quality (HQ) when it
// lies within 3 std of its nearest mode; a mode is captured when at least one HQ sample is nearest to it; the
// reverse KL compares the HQ samples' mode histogram p with the uniform u: KL(p||u) = sum_{p_i>0} p_i log(p_i K).
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "gan/data2d.h"

namespace ganglion {

struct ModeMetrics {
  int64_t samples = 0;
  int modes_total = 0;
  int modes_captured = 0;
  double hq_fraction = 0.0;  // HQ samples / samples, in [0, 1]
  double reverse_kl = 0.0;   // log(K) when there is no HQ sample at all (the worst single-mode value)
  std::vector<int64_t> counts;  // HQ samples nearest to each mode
};

// samples [N, 2] on any device. Requires m.has_modes().
ModeMetrics mode_metrics(const Tensor& samples, const Mixture2d& m);
// The same on raw interleaved (x, y) pairs — the reference the tensor version calls.
ModeMetrics mode_metrics(const std::vector<float>& xy, const std::vector<std::array<float, 2>>& means, float std);

}  // namespace ganglion
