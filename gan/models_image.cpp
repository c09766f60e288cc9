// gan/models_image.cpp — builds the DCGAN-style image generator and discriminator/critic as Sequentials.
#include "gan/models_image.h"

#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/init.h"
#include "layers/norm.h"

namespace ganglion {

const std::vector<std::string>& image_norm_names() {
  static const std::vector<std::string> names = {"batchnorm", "layernorm", "none"};
  return names;
}

ImageNorm parse_image_norm(const std::string& name) {
  const auto& n = image_norm_names();
  for (size_t i = 0; i < n.size(); ++i)
    if (n[i] == name) return static_cast<ImageNorm>(i);
  std::string list;
  for (const auto& s : n) list += (list.empty() ? "" : ", ") + s;
  throw Error("unknown critic norm '" + name + "' (expected one of: " + list + ")");
}

void validate(const ImageGanSpec& s) {
  auto positive = [](int64_t v, const char* field) {
    if (v <= 0) throw Error(std::string("image model: ") + field + " must be positive, got " + std::to_string(v));
  };
  positive(s.channels, "channels");
  positive(s.nz, "nz");
  positive(s.ngf, "ngf");
  positive(s.ndf, "ndf");
  positive(s.pack, "pack");
  const int64_t n = s.image_size;
  const bool pow2 = n >= 16 && n <= 128 && (n & (n - 1)) == 0;
  if (!pow2 && n != 28)
    throw Error("image model: image_size " + std::to_string(n) +
                " is not supported (expected 28 or a power of two from 16 to 128)");
}

ImageLadder image_ladder(const ImageGanSpec& s) {
  validate(s);
  ImageLadder l;
  l.base = s.image_size == 28 ? 7 : 4;
  l.steps = 0;
  for (int64_t v = l.base; v < s.image_size; v *= 2) ++l.steps;
  return l;
}

namespace {
ConvTranspose2dArgs up_args() { return ConvTranspose2dArgs{.stride = 2, .padding = 1, .bias = false}; }
Conv2dArgs down_args() { return Conv2dArgs{.stride = 2, .padding = 1, .bias = false}; }
}  // namespace

std::shared_ptr<Sequential> make_image_generator(const ImageGanSpec& s, Generator& g) {
  const ImageLadder l = image_ladder(s);
  auto net = std::make_shared<Sequential>();
  int64_t width = s.ngf << (l.steps - 1);
  net->push_back(std::make_shared<ConvTranspose2d>(s.nz, width, static_cast<int>(l.base), g,
                                                   ConvTranspose2dArgs{.bias = false}));
  net->push_back(std::make_shared<BatchNorm2d>(width));
  net->push_back(std::make_shared<ReLU>());
  for (int64_t i = l.steps - 1; i >= 1; --i) {
    net->push_back(std::make_shared<ConvTranspose2d>(width, width / 2, 4, g, up_args()));
    width /= 2;
    net->push_back(std::make_shared<BatchNorm2d>(width));
    net->push_back(std::make_shared<ReLU>());
  }
  net->push_back(std::make_shared<ConvTranspose2d>(width, s.channels, 4, g, up_args()));
  net->push_back(std::make_shared<Tanh>());
  dcgan_init(*net, g);
  return net;
}

std::shared_ptr<Sequential> make_image_discriminator(const ImageGanSpec& s, Generator& g) {
  const ImageLadder l = image_ladder(s);
  auto net = std::make_shared<Sequential>();
  int64_t width = s.ndf, spatial = s.image_size / 2;
  const int64_t in = s.pack * s.channels;
  if (s.pack > 1) net->push_back(std::make_shared<Reshape>(Shape{-1, in, s.image_size, s.image_size}));
  net->push_back(std::make_shared<Conv2d>(in, width, 4, g, down_args()));
  net->push_back(std::make_shared<LeakyReLU>(0.2f));
  for (int64_t i = 1; i < l.steps; ++i) {
    net->push_back(std::make_shared<Conv2d>(width, width * 2, 4, g, down_args()));
    width *= 2;
    spatial /= 2;
    if (s.d_norm == ImageNorm::BatchNorm) net->push_back(std::make_shared<BatchNorm2d>(width));
    if (s.d_norm == ImageNorm::LayerNorm) net->push_back(std::make_shared<LayerNorm>(Shape{width, spatial, spatial}));
    net->push_back(std::make_shared<LeakyReLU>(0.2f));
  }
  net->push_back(std::make_shared<Conv2d>(width, 1, static_cast<int>(l.base), g, Conv2dArgs{.bias = false}));
  net->push_back(std::make_shared<Flatten>());
  dcgan_init(*net, g);
  return net;
}

}  // namespace ganglion
