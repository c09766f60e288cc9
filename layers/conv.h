// layers/conv.h — Conv2d and ConvTranspose2d (square kernels, no groups) with PyTorch's weight layouts and
// default initialisation. Options come in a struct so that a model reads like PyTorch:
//   Conv2d(1, 16, 4, g, {.stride = 2, .padding = 1, .bias = false}).
#pragma once
#include "core/ops.h"
#include "core/rng.h"
#include "layers/module.h"

namespace ganglion {

struct Conv2dArgs {
  int stride = 1, padding = 0, dilation = 1;
  bool bias = true;
};

class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, int kernel_size, Generator& g, Conv2dArgs args = {});
  Tensor forward(const Tensor& x) override;  // x [N, in, H, W] -> [N, out, P, Q]
  std::string name() const override;

  int64_t in_channels, out_channels;
  int kernel_size;
  Conv2dArgs args;
  Tensor weight;  // [out, in, k, k]
  Tensor bias;    // [out], undefined when args.bias = false
};

struct ConvTranspose2dArgs {
  int stride = 1, padding = 0, output_padding = 0, dilation = 1;
  bool bias = true;
};

class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, int kernel_size, Generator& g,
                  ConvTranspose2dArgs args = {});
  // x [N, in, H, W] -> [N, out, (H-1)*stride - 2*padding + dilation*(k-1) + output_padding + 1, likewise W].
  Tensor forward(const Tensor& x) override;
  std::string name() const override;

  int64_t in_channels, out_channels;
  int kernel_size;
  ConvTranspose2dArgs args;
  Tensor weight;  // [in, out, k, k] (PyTorch's transposed layout)
  Tensor bias;    // [out], undefined when args.bias = false
};

}  // namespace ganglion
