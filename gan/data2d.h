// gan/data2d.h — the built-in 2-D toy distributions that need no files: ring8 (8 Gaussians on the unit circle,
// std 0.01), grid25 (means {-4,-2,0,2,4}^2, std 0.05) and swissroll. Samples are drawn from a Generator, so the
// same (seed, offset) gives the same batch; the generator's offset is the data position a checkpoint keeps.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"

namespace ganglion {

struct Mixture2d {
  std::string name;
  std::vector<std::array<float, 2>> means;  // the modes; empty for swissroll (no discrete modes)
  float std = 0.f;                          // per-coordinate std of each mode (swissroll: its noise)
  bool has_modes() const { return !means.empty(); }
};

// The names accepted by mixture2d(), for help texts and errors.
const std::vector<std::string>& mixture2d_names();
// "ring8", "grid25" or "swissroll"; anything else throws Error naming the accepted values.
Mixture2d mixture2d(const std::string& name);

// n samples [n, 2] on device d. Each sample draws its mode uniformly; all randomness comes from g.
Tensor sample_mixture2d(const Mixture2d& m, int64_t n, Generator& g, Device d = Device::cpu());

}  // namespace ganglion
