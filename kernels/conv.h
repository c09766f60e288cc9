// kernels/conv.h — 2-D convolution (cross-correlation, NCHW, no groups): forward, backward-data and
// backward-weight. The transposed convolution is backward-data with the roles swapped, so it needs no kernel of
// its own. Twins: kernels/cpu/conv.cpp, kernels/cuda/conv.cu (ours); kernels/cuda/cudnn_conv.cpp (cuDNN, oracle).
#pragma once
#include "kernels/common.h"

namespace ganglion {

// x [N,C,H,W], w [K,C,R,S], y [N,K,P,Q] with
//   P = (H + 2*pad_h - dil_h*(R-1) - 1) / stride_h + 1, Q likewise.
// For a transposed convolution H, W may be any size that maps onto P, Q (output_padding is absorbed there).
struct ConvShape {
  int64_t N = 0, C = 0, H = 0, W = 0;  // input
  int64_t K = 0, R = 0, S = 0;         // output channels, kernel height/width
  int64_t P = 0, Q = 0;                // output height/width
  int stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
};

//   conv2d_forward: y = conv(x, w) (overwrites y).
//   conv2d_backward_data: dx = d(sum(conv(x,w) * dy))/dx (overwrites every dx element, including pixels no
//     window touches).
//   conv2d_backward_weight: dw = d(sum(conv(x,w) * dy))/dw (overwrites dw).
#define GANGLION_CONV_DECLS                                                                               \
  void conv2d_forward(Stream s, const ConvShape& c, const float* x, const float* w, float* y);           \
  void conv2d_backward_data(Stream s, const ConvShape& c, const float* dy, const float* w, float* dx);   \
  void conv2d_backward_weight(Stream s, const ConvShape& c, const float* x, const float* dy, float* dw);

namespace cpu {
GANGLION_CONV_DECLS
}
namespace cuda {
GANGLION_CONV_DECLS
}
// cuDNN behind the same declarations (CUDA builds only): the oracle in tests, the peer in benchmarks, and an
// alternative at run time (GANGLION_CONV=cudnn).
namespace cudnn {
GANGLION_CONV_DECLS
}

}  // namespace ganglion
