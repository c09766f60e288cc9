// layers/init.h — weight initialisers (torch.nn.init's), each drawing from a Generator passed in (there is no
// global RNG), PyTorch's default Linear/Conv initialisation, and the DCGAN paper's init.
#pragma once
#include <cstdint>
#include <string>

#include "core/rng.h"
#include "core/tensor.h"

namespace ganglion {

class Module;

// Fans of a weight of shape [out, in, ...]: fan_in = in * receptive field, fan_out = out * receptive field
// (torch.nn.init._calculate_fan_in_and_fan_out; for ConvTranspose2d's [in, out, k, k] this gives fan_in =
// out*k*k, as PyTorch computes it). Requires t.dim() >= 2.
struct Fans {
  int64_t fan_in = 0, fan_out = 0;
};
Fans compute_fans(const Tensor& t);

// The recommended gain for "linear"/"conv2d"/"sigmoid" (1), "tanh" (5/3), "relu" (sqrt 2) and
// "leaky_relu" with negative slope a (sqrt(2/(1+a^2))).
float calculate_gain(const std::string& nonlinearity, float a = 0.f);

void normal_(Tensor& t, float mean, float std, Generator& g);
void uniform_(Tensor& t, float lo, float hi, Generator& g);
void zeros_(Tensor& t);
void ones_(Tensor& t);

// He init in fan_in mode for a leaky ReLU of slope a (a = 0: ReLU): std = gain/sqrt(fan_in),
// uniform bound = sqrt(3)*std.
void kaiming_uniform_(Tensor& t, Generator& g, float a = 0.f);
void kaiming_normal_(Tensor& t, Generator& g, float a = 0.f);
// Glorot init: std = gain*sqrt(2/(fan_in+fan_out)), uniform bound = sqrt(3)*std.
void xavier_uniform_(Tensor& t, Generator& g, float gain = 1.f);
void xavier_normal_(Tensor& t, Generator& g, float gain = 1.f);

// PyTorch's reset_parameters for Linear and Conv: weight kaiming_uniform_(a = sqrt 5), i.e. U(±1/sqrt(fan_in)),
// then bias (when defined) U(±1/sqrt(fan_in)) with the weight's fan_in. Weight first, then bias, as PyTorch.
void default_linear_conv_init_(Tensor& weight, Tensor& bias, Generator& g);

// The DCGAN paper's init (pytorch/examples dcgan weights_init), walking the module tree in order:
// Conv2d/ConvTranspose2d weight ~ N(0, 0.02) and bias (if any) = 0; BatchNorm weight ~ N(1, 0.02), bias = 0.
// Other modules are left as they are.
void dcgan_init(Module& m, Generator& g);

}  // namespace ganglion
