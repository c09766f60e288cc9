// gan/inspect.h — a checkpoint's health at a glance: per-parameter weight and gradient norms (gradients of one
// batch's D and G losses, nothing updated), the largest singular value of each weight by power iteration, and
// the critic's outputs on real versus generated samples.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"
#include "gan/checkpoint.h"

namespace ganglion {

struct LayerStats {
  std::string model;  // "G" or "D"
  std::string name;   // "0.weight"
  Shape shape;
  double weight_norm = 0, grad_norm = 0;
  double sigma_max = -1;  // < 0 for vectors (biases, norm parameters)
};

struct OutputStats {
  double mean = 0, std = 0, min = 0, max = 0;
};

struct InspectResult {
  std::vector<LayerStats> layers;
  OutputStats d_real, d_fake;  // raw critic outputs
  double loss_d = 0, loss_g = 0;
  int64_t batch = 0;
};

// The largest singular value of w viewed as [w.size(0), rest], by `iters` steps of power iteration from a random
// start drawn from g.
double largest_singular_value(const Tensor& w, Generator& g, int iters = 50);

// One batch of `batch` real and generated samples through the checkpoint's models (the trained G, not the EMA).
InspectResult inspect_checkpoint(const Checkpoint& ck, int64_t batch, uint64_t seed, Device d);

// A self-contained HTML page with the tables.
std::string inspect_html(const InspectResult& r, const Checkpoint& ck);

}  // namespace ganglion
