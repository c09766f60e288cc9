// gan/models2d.h — the PacGAN 2-D models: an MLP generator (noise -> hidden layers with optional BatchNorm1d and
// ReLU -> 2) and a Maxout MLP critic/discriminator (Linear(in, H*pieces) + Maxout(pieces) per layer, then
// Linear(H, 1)) that can see m samples packed together ([N, 2] -> [N/m, 2m]).
#pragma once
#include <cstdint>
#include <memory>

#include "core/rng.h"
#include "layers/sequential.h"

namespace ganglion {

struct Mlp2dSpec {
  int64_t noise_dim = 2;
  int64_t g_hidden = 400;
  int64_t g_layers = 4;
  bool g_batchnorm = true;  // off for WGAN-GP-style setups that want a plain MLP
  int64_t d_hidden = 200;
  int64_t d_pieces = 5;
  int64_t d_layers = 3;
  int64_t pack = 1;  // PacGAN's m: the critic scores m samples at once
  // Fixed scales: G's output is multiplied by g_output_scale and D's input by d_input_scale. The toy data span
  // about +-4 while default-initialised layers put their kinks within about 1 of the origin; scaling lets both
  // nets start at the data's scale (see gan/RECIPES.md).
  float g_output_scale = 1.f;
  float d_input_scale = 1.f;
};

// Multiplies its input by a fixed factor (no parameters).
class Scale : public Module {
 public:
  explicit Scale(float factor) : factor(factor) {}
  Tensor forward(const Tensor& x) override;
  std::string name() const override;
  float factor;
};

// Checks the spec (every size positive); throws Error naming the field.
void validate(const Mlp2dSpec& s);

// z [N, noise_dim] -> x [N, 2]. Weights drawn from g (PyTorch's default Linear init).
std::shared_ptr<Sequential> make_generator2d(const Mlp2dSpec& s, Generator& g);
// x [N, 2] with N divisible by pack -> scores [N/pack, 1].
std::shared_ptr<Sequential> make_critic2d(const Mlp2dSpec& s, Generator& g);

}  // namespace ganglion
