// core/ops_conv.cpp — conv2d and conv_transpose2d on three primitive ops (forward, backward-data,
// backward-weight) whose backwards are each other: the family is closed, so convolutions are differentiable to
// any order (double backward through a conv critic for WGAN-GP and R1).
#include "core/dispatch.h"
#include "core/ops_util.h"
#include "kernels/conv.h"

namespace ganglion {

namespace {

Tensor conv_fwd(const Tensor& x, const Tensor& w, const ConvShape& c);
Tensor conv_bwd_data(const Tensor& dy, const Tensor& w, const ConvShape& c);
Tensor conv_bwd_weight(const Tensor& x, const Tensor& dy, const ConvShape& c);

Tensor conv_fwd(const Tensor& x, const Tensor& w, const ConvShape& c) {
  OpScope scope("conv2d_forward");
  Tensor y = Tensor::empty({c.N, c.K, c.P, c.Q}, x.device());
  if (y.numel() > 0) GANGLION_DISPATCH_DNN(x.device(), conv2d_forward, c, x.data(), w.data(), y.data());
  return record("conv2d", y, {x, w}, [x, w, c](const Tensor& g, const Tensor&) {
    Tensor gx, gw;
    if (x.requires_grad()) gx = conv_bwd_data(g, w, c);
    if (w.requires_grad()) gw = conv_bwd_weight(x, g, c);
    return std::vector<Tensor>{gx, gw};
  });
}

Tensor conv_bwd_data(const Tensor& dy, const Tensor& w, const ConvShape& c) {
  OpScope scope("conv2d_backward_data");
  Tensor dx = Tensor::empty({c.N, c.C, c.H, c.W}, dy.device());
  if (dx.numel() > 0) GANGLION_DISPATCH_DNN(dy.device(), conv2d_backward_data, c, dy.data(), w.data(), dx.data());
  return record("conv2d_backward_data", dx, {dy, w}, [dy, w, c](const Tensor& g, const Tensor&) {
    Tensor gdy, gw;
    if (dy.requires_grad()) gdy = conv_fwd(g, w, c);
    if (w.requires_grad()) gw = conv_bwd_weight(g, dy, c);
    return std::vector<Tensor>{gdy, gw};
  });
}

Tensor conv_bwd_weight(const Tensor& x, const Tensor& dy, const ConvShape& c) {
  OpScope scope("conv2d_backward_weight");
  Tensor dw = Tensor::empty({c.K, c.C, c.R, c.S}, x.device());
  if (dw.numel() > 0) GANGLION_DISPATCH_DNN(x.device(), conv2d_backward_weight, c, x.data(), dy.data(), dw.data());
  return record("conv2d_backward_weight", dw, {x, dy}, [x, dy, c](const Tensor& g, const Tensor&) {
    Tensor gx, gdy;
    if (x.requires_grad()) gx = conv_bwd_data(dy, g, c);
    if (dy.requires_grad()) gdy = conv_fwd(x, g, c);
    return std::vector<Tensor>{gx, gdy};
  });
}

std::string conv_shapes(const Tensor& x, const Tensor& w) { return "(" + shape_str(x.shape()) + " vs " + shape_str(w.shape()) + ")"; }

Tensor add_channel_bias(const char* op, const Tensor& y, const Tensor& b) {
  if (!b.defined()) return y;
  detail::check_float(op, b);
  if (b.dim() != 1 || b.size(0) != y.size(1)) {
    throw Error(std::string(op) + ": bias " + shape_str(b.shape()) + " does not match the " +
                std::to_string(y.size(1)) + " output channels");
  }
  return add(y, reshape(b, {1, b.size(0), 1, 1}));
}

void check_conv_inputs(const char* op, const Tensor& x, const Tensor& w, const Tensor& b) {
  detail::check_float(op, x);
  detail::check_float(op, w);
  detail::check_same_device(op, {&x, &w, &b});
  if (x.dim() != 4) throw Error(std::string(op) + ": expected a 4-D input [N,C,H,W], got " + shape_str(x.shape()));
  if (w.dim() != 4) throw Error(std::string(op) + ": expected a 4-D weight, got " + shape_str(w.shape()));
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, Conv2dOptions o) {
  check_conv_inputs("conv2d", x, w, b);
  if (o.stride < 1 || o.padding < 0 || o.dilation < 1) {
    throw Error("conv2d: stride and dilation must be >= 1 and padding >= 0 (got stride " + std::to_string(o.stride) +
                ", padding " + std::to_string(o.padding) + ", dilation " + std::to_string(o.dilation) + ")");
  }
  if (x.size(1) != w.size(1)) {
    throw Error("conv2d: input has " + std::to_string(x.size(1)) + " channels but weight expects " +
                std::to_string(w.size(1)) + " " + conv_shapes(x, w));
  }
  ConvShape c;
  c.N = x.size(0), c.C = x.size(1), c.H = x.size(2), c.W = x.size(3);
  c.K = w.size(0), c.R = w.size(2), c.S = w.size(3);
  c.stride_h = c.stride_w = o.stride;
  c.pad_h = c.pad_w = o.padding;
  c.dil_h = c.dil_w = o.dilation;
  int64_t eh = c.H + 2 * o.padding - o.dilation * (c.R - 1) - 1, ew = c.W + 2 * o.padding - o.dilation * (c.S - 1) - 1;
  if (eh < 0 || ew < 0) {
    throw Error("conv2d: kernel " + std::to_string(c.R) + "x" + std::to_string(c.S) + " (dilation " +
                std::to_string(o.dilation) + ") is larger than the padded input " + conv_shapes(x, w));
  }
  c.P = eh / o.stride + 1;
  c.Q = ew / o.stride + 1;
  return add_channel_bias("conv2d", conv_fwd(x, w, c), b);
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, ConvTranspose2dOptions o) {
  check_conv_inputs("conv_transpose2d", x, w, b);
  if (o.stride < 1 || o.padding < 0 || o.dilation < 1 || o.output_padding < 0 ||
      o.output_padding >= std::max(o.stride, o.dilation)) {
    throw Error("conv_transpose2d: need stride, dilation >= 1, padding >= 0 and 0 <= output_padding < "
                "max(stride, dilation) (got stride " + std::to_string(o.stride) + ", padding " +
                std::to_string(o.padding) + ", output_padding " + std::to_string(o.output_padding) + ")");
  }
  if (x.size(1) != w.size(0)) {
    throw Error("conv_transpose2d: input has " + std::to_string(x.size(1)) + " channels but weight expects " +
                std::to_string(w.size(0)) + " " + conv_shapes(x, w));
  }
  // The transposed conv is backward-data of a conv whose input is our output and whose output is our input.
  ConvShape c;
  c.N = x.size(0), c.K = x.size(1), c.P = x.size(2), c.Q = x.size(3);
  c.C = w.size(1), c.R = w.size(2), c.S = w.size(3);
  c.H = (c.P - 1) * o.stride - 2 * o.padding + o.dilation * (c.R - 1) + o.output_padding + 1;
  c.W = (c.Q - 1) * o.stride - 2 * o.padding + o.dilation * (c.S - 1) + o.output_padding + 1;
  if (c.H <= 0 || c.W <= 0) {
    throw Error("conv_transpose2d: output size " + std::to_string(c.H) + "x" + std::to_string(c.W) +
                " is not positive " + conv_shapes(x, w));
  }
  c.stride_h = c.stride_w = o.stride;
  c.pad_h = c.pad_w = o.padding;
  c.dil_h = c.dil_w = o.dilation;
  return add_channel_bias("conv_transpose2d", conv_bwd_data(x, w, c), b);
}

}  // namespace ganglion
