// gan/models.h — the model factory a training run uses: the generator, the critic and the noise they take, chosen
// by config.model (mlp2d for 2-D mixtures, dcgan for images), so the trainer and tools never ask which.
#pragma once
#include <cstdint>
#include <memory>

#include "core/rng.h"
#include "gan/config.h"
#include "layers/sequential.h"

namespace ganglion {

std::shared_ptr<Sequential> make_generator(const TrainConfig& c, Generator& init);
std::shared_ptr<Sequential> make_critic(const TrainConfig& c, Generator& init);
// n noise vectors for the generator: [n, noise_dim] (mlp2d) or [n, nz, 1, 1] (dcgan), standard normal from g.
Tensor draw_noise(const TrainConfig& c, int64_t n, Generator& g, Device d);
// A noise batch's shape for n vectors (as draw_noise), for tools that build noise themselves (interpolation).
Shape noise_shape(const TrainConfig& c, int64_t n);

}  // namespace ganglion
