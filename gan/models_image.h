// gan/models_image.h — DCGAN-style image models for square images of any power-of-two size from 16 to 128, and
// 28×28 (MNIST), with any channel count: a transposed-conv generator (BatchNorm + ReLU, Tanh out) and a strided
// conv discriminator/critic (LeakyReLU 0.2; BatchNorm for DCGAN, LayerNorm or no norm for WGAN-GP critics).
// Both are Sequentials, so parameter names are PyTorch's nn.Sequential indices ("0.weight", "1.running_mean").
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/rng.h"
#include "layers/sequential.h"

namespace ganglion {

// The critic's normalisation after each inner conv (never after the first conv nor the last).
enum class ImageNorm { BatchNorm, LayerNorm, None };
const std::vector<std::string>& image_norm_names();  // "batchnorm", "layernorm", "none"
ImageNorm parse_image_norm(const std::string& name);  // Error naming the accepted values

struct ImageGanSpec {
  int64_t image_size = 64;  // 28, or a power of two in [16, 128]
  int64_t channels = 3;
  int64_t nz = 100;  // noise z [N, nz, 1, 1]
  int64_t ngf = 64;  // generator width at the last hidden layer (widths double towards the noise)
  int64_t ndf = 64;  // critic width at the first layer (widths double towards the logit)
  ImageNorm d_norm = ImageNorm::BatchNorm;
  int64_t pack = 1;  // PacGAN's m: the critic scores m images at once, stacked along the channels
};

// Checks the spec (sizes positive, image_size supported); throws Error naming the field.
void validate(const ImageGanSpec& s);

// The layout both models share: the smallest feature map `base` (4, or 7 for 28×28) and the number of stride-2
// steps between it and the image: image_size = base * 2^steps.
struct ImageLadder {
  int64_t base = 4, steps = 4;
};
ImageLadder image_ladder(const ImageGanSpec& s);

// z [N, nz, 1, 1] -> x [N, channels, S, S] in [-1, 1]. With L = steps:
//   ConvT(nz, ngf*2^(L-1), base, 1, 0) + BN + ReLU,
//   then for i = L-1 .. 1: ConvT(ngf*2^i, ngf*2^(i-1), 4, 2, 1) + BN + ReLU,
//   ConvT(ngf, channels, 4, 2, 1) + Tanh.
// At 64 this is pytorch/examples' DCGAN generator; at 28, ConvT(nz, 2*ngf, 7) -> 14 -> 28. No conv biases.
// Layers are constructed drawing from g and then dcgan_init(g) is applied.
std::shared_ptr<Sequential> make_image_generator(const ImageGanSpec& s, Generator& g);

// x [N, channels, S, S] -> logits [N/pack, 1]:
//   with pack m > 1 first Reshape [N, C, S, S] -> [N/m, m*C, S, S] (images j*m .. j*m+m-1 side by side in the
//   channels of critic input j, as PacDCGAN does), then
//   Conv(m*channels, ndf, 4, 2, 1) + LeakyReLU(0.2),
//   then for i = 1 .. L-1: Conv(ndf*2^(i-1), ndf*2^i, 4, 2, 1) + norm + LeakyReLU(0.2),
//   Conv(ndf*2^(L-1), 1, base, 1, 0) + Flatten.
// norm is BatchNorm2d(C), LayerNorm([C, H, W]) or nothing (d_norm). No conv biases; dcgan_init(g) applied.
// With packing the layer indices (and so the parameter names) shift by one, after the Reshape.
std::shared_ptr<Sequential> make_image_discriminator(const ImageGanSpec& s, Generator& g);

}  // namespace ganglion
