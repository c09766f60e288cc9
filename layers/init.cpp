// layers/init.cpp — weight initialisers drawing from a caller's Generator, PyTorch's default Linear/Conv init and
// the DCGAN init.
#include "layers/init.h"

#include <cmath>

#include "core/autograd.h"
#include "core/ops.h"
#include "layers/conv.h"
#include "layers/norm.h"

namespace ganglion {

Fans compute_fans(const Tensor& t) {
  if (!t.defined() || t.dim() < 2)
    throw Error("init: fan_in/fan_out need a tensor of at least 2 dimensions, got " +
                (t.defined() ? shape_str(t.shape()) : std::string("undefined")));
  int64_t receptive = 1;
  for (int64_t d = 2; d < t.dim(); ++d) receptive *= t.size(d);
  return Fans{t.size(1) * receptive, t.size(0) * receptive};
}

float calculate_gain(const std::string& nonlinearity, float a) {
  if (nonlinearity == "linear" || nonlinearity == "conv2d" || nonlinearity == "conv_transpose2d" ||
      nonlinearity == "sigmoid")
    return 1.f;
  if (nonlinearity == "tanh") return 5.f / 3.f;
  if (nonlinearity == "relu") return std::sqrt(2.f);
  if (nonlinearity == "leaky_relu") return std::sqrt(2.f / (1.f + a * a));
  throw Error("calculate_gain: unknown nonlinearity '" + nonlinearity +
              "' (expected linear, conv2d, conv_transpose2d, sigmoid, tanh, relu or leaky_relu)");
}

void normal_(Tensor& t, float mean, float std, Generator& g) {
  NoGradGuard no_grad;
  g.normal_(t, mean, std);
}

void uniform_(Tensor& t, float lo, float hi, Generator& g) {
  NoGradGuard no_grad;
  g.uniform_(t, lo, hi);
}

void zeros_(Tensor& t) { fill_(t, 0.f); }
void ones_(Tensor& t) { fill_(t, 1.f); }

namespace {
float kaiming_std(const Tensor& t, float a) {
  return calculate_gain("leaky_relu", a) / std::sqrt(static_cast<float>(compute_fans(t).fan_in));
}
float xavier_std(const Tensor& t, float gain) {
  const Fans f = compute_fans(t);
  return gain * std::sqrt(2.f / static_cast<float>(f.fan_in + f.fan_out));
}
}  // namespace

void kaiming_uniform_(Tensor& t, Generator& g, float a) {
  const float bound = std::sqrt(3.f) * kaiming_std(t, a);
  uniform_(t, -bound, bound, g);
}

void kaiming_normal_(Tensor& t, Generator& g, float a) { normal_(t, 0.f, kaiming_std(t, a), g); }

void xavier_uniform_(Tensor& t, Generator& g, float gain) {
  const float bound = std::sqrt(3.f) * xavier_std(t, gain);
  uniform_(t, -bound, bound, g);
}

void xavier_normal_(Tensor& t, Generator& g, float gain) { normal_(t, 0.f, xavier_std(t, gain), g); }

void default_linear_conv_init_(Tensor& weight, Tensor& bias, Generator& g) {
  kaiming_uniform_(weight, g, std::sqrt(5.f));
  if (bias.defined()) {
    const int64_t fan_in = compute_fans(weight).fan_in;
    const float bound = fan_in > 0 ? 1.f / std::sqrt(static_cast<float>(fan_in)) : 0.f;
    uniform_(bias, -bound, bound, g);
  }
}

void dcgan_init(Module& root, Generator& g) {
  root.apply([&g](Module& m) {
    Tensor weight, bias;
    float mean = 0.f;
    if (auto* c = dynamic_cast<Conv2d*>(&m)) {
      weight = c->weight, bias = c->bias;
    } else if (auto* ct = dynamic_cast<ConvTranspose2d*>(&m)) {
      weight = ct->weight, bias = ct->bias;
    } else if (auto* bn = dynamic_cast<BatchNorm*>(&m)) {
      weight = bn->weight, bias = bn->bias, mean = 1.f;
    } else {
      return;
    }
    if (weight.defined()) normal_(weight, mean, 0.02f, g);
    if (bias.defined()) zeros_(bias);
  });
}

}  // namespace ganglion
