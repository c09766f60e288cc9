// gan/models2d.cpp — builds the 2-D generator and the (packed) Maxout critic as Sequentials.
#include "gan/models2d.h"

#include <sstream>

#include "core/ops.h"
#include "layers/activation.h"
#include "layers/linear.h"
#include "layers/norm.h"

namespace ganglion {

Tensor Scale::forward(const Tensor& x) { return mul_scalar(x, factor); }

std::string Scale::name() const {
  std::ostringstream os;
  os << "Scale(" << factor << ")";
  return os.str();
}

void validate(const Mlp2dSpec& s) {
  auto positive = [](int64_t v, const char* field) {
    if (v <= 0) throw Error(std::string("model: ") + field + " must be positive, got " + std::to_string(v));
  };
  positive(s.noise_dim, "noise_dim");
  positive(s.g_hidden, "g_hidden");
  positive(s.g_layers, "g_layers");
  positive(s.d_hidden, "d_hidden");
  positive(s.d_pieces, "d_pieces");
  positive(s.d_layers, "d_layers");
  positive(s.pack, "pack");
  if (!(s.g_output_scale > 0) || !(s.d_input_scale > 0))
    throw Error("model: g_output_scale and d_input_scale must be positive");
}

std::shared_ptr<Sequential> make_generator2d(const Mlp2dSpec& s, Generator& g) {
  validate(s);
  auto net = std::make_shared<Sequential>();
  int64_t in = s.noise_dim;
  for (int64_t i = 0; i < s.g_layers; ++i) {
    net->push_back(std::make_shared<Linear>(in, s.g_hidden, g, /*bias=*/!s.g_batchnorm));
    if (s.g_batchnorm) net->push_back(std::make_shared<BatchNorm1d>(s.g_hidden));
    net->push_back(std::make_shared<ReLU>());
    in = s.g_hidden;
  }
  net->push_back(std::make_shared<Linear>(in, 2, g));
  if (s.g_output_scale != 1.f) net->push_back(std::make_shared<Scale>(s.g_output_scale));
  return net;
}

std::shared_ptr<Sequential> make_critic2d(const Mlp2dSpec& s, Generator& g) {
  validate(s);
  auto net = std::make_shared<Sequential>();
  int64_t in = 2 * s.pack;
  if (s.d_input_scale != 1.f) net->push_back(std::make_shared<Scale>(s.d_input_scale));
  if (s.pack > 1) net->push_back(std::make_shared<Reshape>(Shape{-1, in}));
  for (int64_t i = 0; i < s.d_layers; ++i) {
    net->push_back(std::make_shared<Linear>(in, s.d_hidden * s.d_pieces, g));
    net->push_back(std::make_shared<Maxout>(s.d_pieces));
    in = s.d_hidden;
  }
  net->push_back(std::make_shared<Linear>(in, 1, g));
  return net;
}

}  // namespace ganglion
