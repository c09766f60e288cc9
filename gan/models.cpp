// gan/models.cpp — dispatches model construction and noise to the 2-D MLPs or the DCGAN image models.
#include "gan/models.h"

#include "gan/models2d.h"
#include "gan/models_image.h"

namespace ganglion {

namespace {
bool image_model(const TrainConfig& c) { return c.model == "dcgan"; }
}  // namespace

std::shared_ptr<Sequential> make_generator(const TrainConfig& c, Generator& init) {
  return image_model(c) ? make_image_generator(c.image, init) : make_generator2d(c.mlp, init);
}

std::shared_ptr<Sequential> make_critic(const TrainConfig& c, Generator& init) {
  return image_model(c) ? make_image_discriminator(c.image, init) : make_critic2d(c.mlp, init);
}

Shape noise_shape(const TrainConfig& c, int64_t n) {
  return image_model(c) ? Shape{n, c.image.nz, 1, 1} : Shape{n, c.mlp.noise_dim};
}

Tensor draw_noise(const TrainConfig& c, int64_t n, Generator& g, Device d) { return g.randn(noise_shape(c, n), d); }

}  // namespace ganglion
