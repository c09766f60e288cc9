// kernels/elementwise.h — elementwise families: unary maps (math and activations, and their derivative masks),
// broadcast binary arithmetic, fill and strided block copies. Twins: kernels/cpu/elementwise.cpp,
// kernels/cuda/elementwise.cu.
#pragma once
#include "kernels/common.h"

namespace ganglion {

// y = f(x; a, b). Parameters a, b are used by the ops noted. "Mask" ops are derivative factors: piecewise
// constant, so the autograd treats them as constants.
enum class UnaryOp : int {
  Neg,          // -x
  Exp,          // e^x
  Log,          // ln x
  Sqrt,         // sqrt x
  Rsqrt,        // 1/sqrt x
  Reciprocal,   // 1/x
  Square,       // x*x
  Abs,          // |x|
  Sign,         // -1, 0, 1
  Relu,         // max(x, 0)
  LeakyRelu,    // x > 0 ? x : a*x
  Tanh,         // tanh x
  Sigmoid,      // 1/(1+e^-x), computed stably
  Softplus,     // ln(1+e^x), computed stably
  LogSigmoid,   // -softplus(-x), computed stably
  Pow,          // x^a
  Clamp,        // min(max(x, a), b)
  AddScalar,    // x + a
  MulScalar,    // x * a
  Affine,       // a*x + b
  ReluMask,     // x > 0 ? 1 : 0
  LeakyMask,    // x > 0 ? 1 : a
  ClampMask,    // a <= x <= b ? 1 : 0
};

struct UnaryParams {
  float a = 0.f;
  float b = 0.f;
};

enum class BinaryOp : int { Add, Sub, Mul, Div, Maximum, Minimum };

// Contracts:
//   unary: x, y of n elements (may alias); y[i] = f(x[i]) for all i < n (overwrites).
//   binary: out contiguous with shape.shape; a, b read at the given strides (overwrites out).
//   broadcast_copy: out[i] = a[broadcast index] (uses shape.stride_a only; overwrites out).
//   fill: y[i] = value for i < n.
//   copy_2d: dst[r*dst_ld + c] = src[r*src_ld + c] for a rows x cols block; overwrites only that block.
#define GANGLION_ELEMENTWISE_DECLS                                                                             \
  void unary(Stream s, UnaryOp op, const float* x, float* y, int64_t n, UnaryParams p);                       \
  void binary(Stream s, BinaryOp op, const float* a, const float* b, float* out, const BroadcastShape& shape); \
  void broadcast_copy(Stream s, const float* a, float* out, const BroadcastShape& shape);                     \
  void fill(Stream s, float* y, int64_t n, float value);                                                      \
  void copy_2d(Stream s, const float* src, int64_t src_ld, float* dst, int64_t dst_ld, int64_t rows,          \
               int64_t cols);

namespace cpu {
GANGLION_ELEMENTWISE_DECLS
}
namespace cuda {
GANGLION_ELEMENTWISE_DECLS
}

}  // namespace ganglion
