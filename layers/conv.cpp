// layers/conv.cpp — the Conv2d and ConvTranspose2d layers: argument checks, parameters, and the conv ops.
#include "layers/conv.h"

#include "layers/init.h"

namespace ganglion {

namespace {

void check_conv_sizes(const char* layer, int64_t in, int64_t out, int k, int stride, int padding, int dilation) {
  if (in <= 0 || out <= 0 || k <= 0 || stride <= 0 || padding < 0 || dilation <= 0)
    throw Error(std::string(layer) + ": invalid sizes (in " + std::to_string(in) + ", out " + std::to_string(out) +
                ", kernel " + std::to_string(k) + ", stride " + std::to_string(stride) + ", padding " +
                std::to_string(padding) + ", dilation " + std::to_string(dilation) + ")");
}

void check_input(const std::string& layer, const Tensor& x, int64_t in_channels) {
  if (x.dim() != 4 || x.size(1) != in_channels)
    throw Error(layer + ": expected input [N, " + std::to_string(in_channels) + ", H, W], got " +
                shape_str(x.shape()));
}

// ", stride=2, padding=1" etc.: only the non-default options, as PyTorch prints them.
std::string opt(const char* key, int v, int dflt) {
  return v == dflt ? std::string() : ", " + std::string(key) + "=" + std::to_string(v);
}

}  // namespace

Conv2d::Conv2d(int64_t in, int64_t out, int k, Generator& g, Conv2dArgs a)
    : in_channels(in), out_channels(out), kernel_size(k), args(a) {
  check_conv_sizes("Conv2d", in, out, k, a.stride, a.padding, a.dilation);
  weight = register_parameter("weight", Tensor::empty({out, in, k, k}));
  if (a.bias) bias = register_parameter("bias", Tensor::empty({out}));
  default_linear_conv_init_(weight, bias, g);
}

Tensor Conv2d::forward(const Tensor& x) {
  check_input(name(), x, in_channels);
  return conv2d(x, weight, bias, Conv2dOptions{args.stride, args.padding, args.dilation});
}

std::string Conv2d::name() const {
  return "Conv2d(" + std::to_string(in_channels) + ", " + std::to_string(out_channels) +
         ", kernel_size=" + std::to_string(kernel_size) + opt("stride", args.stride, 1) +
         opt("padding", args.padding, 0) + opt("dilation", args.dilation, 1) + (args.bias ? "" : ", bias=False") +
         ")";
}

ConvTranspose2d::ConvTranspose2d(int64_t in, int64_t out, int k, Generator& g, ConvTranspose2dArgs a)
    : in_channels(in), out_channels(out), kernel_size(k), args(a) {
  check_conv_sizes("ConvTranspose2d", in, out, k, a.stride, a.padding, a.dilation);
  if (a.output_padding < 0 || (a.output_padding >= a.stride && a.output_padding >= a.dilation))
    throw Error("ConvTranspose2d: output_padding " + std::to_string(a.output_padding) +
                " must be smaller than stride " + std::to_string(a.stride) + " or dilation " +
                std::to_string(a.dilation));
  weight = register_parameter("weight", Tensor::empty({in, out, k, k}));
  if (a.bias) bias = register_parameter("bias", Tensor::empty({out}));
  default_linear_conv_init_(weight, bias, g);
}

Tensor ConvTranspose2d::forward(const Tensor& x) {
  check_input(name(), x, in_channels);
  return conv_transpose2d(x, weight, bias,
                          ConvTranspose2dOptions{args.stride, args.padding, args.output_padding, args.dilation});
}

std::string ConvTranspose2d::name() const {
  return "ConvTranspose2d(" + std::to_string(in_channels) + ", " + std::to_string(out_channels) +
         ", kernel_size=" + std::to_string(kernel_size) + opt("stride", args.stride, 1) +
         opt("padding", args.padding, 0) + opt("output_padding", args.output_padding, 0) +
         opt("dilation", args.dilation, 1) + (args.bias ? "" : ", bias=False") + ")";
}

}  // namespace ganglion
