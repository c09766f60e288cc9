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
};

// Checks the spec (every size positive); throws Error naming the field.
void validate(const Mlp2dSpec& s);

// z [N, noise_dim] -> x [N, 2]. Weights drawn from g (PyTorch's default Linear init).
std::shared_ptr<Sequential> make_generator2d(const Mlp2dSpec& s, Generator& g);
// x [N, 2] with N divisible by pack -> scores [N/pack, 1].
std::shared_ptr<Sequential> make_critic2d(const Mlp2dSpec& s, Generator& g);

}  // namespace ganglion
