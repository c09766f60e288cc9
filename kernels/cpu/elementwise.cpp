// kernels/cpu/elementwise.cpp — CPU twin of kernels/elementwise.h: unary maps, broadcast binary arithmetic,
// broadcast copies, fill and 2-D block copies. OpenMP splits the work when it is large enough to pay.
#include "kernels/elementwise.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace ganglion::cpu {
namespace {

constexpr int64_t kParallelMin = 32768;

// y[i] = f(x[i]); x and y may alias (each element is read before it is written).
// The functor is copied into each thread's frame first: read through the closure, its captured scalars could
// alias y, which stops the compiler from vectorising the loop.
template <class F>
void map(const float* x, float* y, int64_t n, F f) {
#pragma omp parallel if (n > kParallelMin)
  {
    const F local_f = f;
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) y[i] = local_f(x[i]);
  }
}

float stable_sigmoid(float x) {
  if (x >= 0.f) return 1.f / (1.f + std::exp(-x));
  const float e = std::exp(x);
  return e / (1.f + e);
}

// ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|): never overflows, keeps precision for large |x|.
float stable_softplus(float x) { return std::max(x, 0.f) + std::log1p(std::exp(-std::fabs(x))); }

// Visits every element of a broadcast iteration space: row(out_base, a_base, b_base, inner, a_step, b_step) is
// called once per innermost row. The outer index is decomposed once per row.
template <class F>
void for_each_broadcast_row(const BroadcastShape& sh, F row) {
  const int64_t total = sh.numel();
  if (total == 0) return;
  if (sh.ndim == 0) {
    row(0, 0, 0, 1, 0, 0);
    return;
  }
  const int last = sh.ndim - 1;
  const int64_t inner = sh.shape[last];
  const int64_t rows = total / inner;
  const int64_t sa = sh.stride_a[last], sb = sh.stride_b[last];
#pragma omp parallel for schedule(static) if (total > kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    int64_t rem = r, oa = 0, ob = 0;
    for (int d = last - 1; d >= 0; --d) {
      const int64_t idx = rem % sh.shape[d];
      rem /= sh.shape[d];
      oa += idx * sh.stride_a[d];
      ob += idx * sh.stride_b[d];
    }
    row(r * inner, oa, ob, inner, sa, sb);
  }
}

// out = f(a, b) over a broadcast space. The common innermost layouts (both contiguous, or one side a scalar
// along the row) get loops of their own so that they vectorise; other strides take the general loop.
template <class F>
void run_binary(const float* a, const float* b, float* out, const BroadcastShape& sh, F f) {
  for_each_broadcast_row(sh, [a, b, out, f](int64_t o, int64_t oa, int64_t ob, int64_t inner, int64_t sa, int64_t sb) {
    const float* pa = a + oa;
    const float* pb = b + ob;
    float* po = out + o;
    if (sa == 1 && sb == 1) {
      for (int64_t i = 0; i < inner; ++i) po[i] = f(pa[i], pb[i]);
    } else if (sa == 1 && sb == 0) {
      const float vb = *pb;
      for (int64_t i = 0; i < inner; ++i) po[i] = f(pa[i], vb);
    } else if (sa == 0 && sb == 1) {
      const float va = *pa;
      for (int64_t i = 0; i < inner; ++i) po[i] = f(va, pb[i]);
    } else {
      for (int64_t i = 0; i < inner; ++i) po[i] = f(pa[i * sa], pb[i * sb]);
    }
  });
}

// NaN-propagating max/min, as PyTorch's maximum/minimum.
float nan_max(float x, float y) {
  if (std::isnan(x) || std::isnan(y)) return std::numeric_limits<float>::quiet_NaN();
  return x > y ? x : y;
}
float nan_min(float x, float y) {
  if (std::isnan(x) || std::isnan(y)) return std::numeric_limits<float>::quiet_NaN();
  return x < y ? x : y;
}

}  // namespace

void unary(Stream, UnaryOp op, const float* x, float* y, int64_t n, UnaryParams p) {
  const float a = p.a, b = p.b;
  switch (op) {
    case UnaryOp::Neg: return map(x, y, n, [](float v) { return -v; });
    case UnaryOp::Exp: return map(x, y, n, [](float v) { return std::exp(v); });
    case UnaryOp::Log: return map(x, y, n, [](float v) { return std::log(v); });
    case UnaryOp::Sqrt: return map(x, y, n, [](float v) { return std::sqrt(v); });
    case UnaryOp::Rsqrt: return map(x, y, n, [](float v) { return 1.f / std::sqrt(v); });
    case UnaryOp::Reciprocal: return map(x, y, n, [](float v) { return 1.f / v; });
    case UnaryOp::Square: return map(x, y, n, [](float v) { return v * v; });
    case UnaryOp::Abs: return map(x, y, n, [](float v) { return std::fabs(v); });
    case UnaryOp::Sign:
      return map(x, y, n, [](float v) { return static_cast<float>((0.f < v) - (v < 0.f)); });
    // `v < 0 ? 0 : v` lets a NaN through, as PyTorch's relu does.
    case UnaryOp::Relu: return map(x, y, n, [](float v) { return v < 0.f ? 0.f : v; });
    // Written without a select so that it vectorises (GCC keeps `v > 0 ? v : a*v` as a branch). Equal to
    // that form for every v, signed zeros, infinities and NaN included: one of the two terms is always +-0.
    case UnaryOp::LeakyRelu:
      return map(x, y, n, [a](float v) { return std::max(v, 0.f) + a * std::min(v, 0.f); });
    case UnaryOp::Tanh: return map(x, y, n, [](float v) { return std::tanh(v); });
    case UnaryOp::Sigmoid: return map(x, y, n, stable_sigmoid);
    case UnaryOp::Softplus: return map(x, y, n, stable_softplus);
    case UnaryOp::LogSigmoid: return map(x, y, n, [](float v) { return -stable_softplus(-v); });
    case UnaryOp::Pow: return map(x, y, n, [a](float v) { return std::pow(v, a); });
    case UnaryOp::Clamp: return map(x, y, n, [a, b](float v) { return std::min(std::max(v, a), b); });
    case UnaryOp::AddScalar: return map(x, y, n, [a](float v) { return v + a; });
    case UnaryOp::MulScalar: return map(x, y, n, [a](float v) { return v * a; });
    case UnaryOp::Affine: return map(x, y, n, [a, b](float v) { return a * v + b; });
    case UnaryOp::ReluMask: return map(x, y, n, [](float v) { return v > 0.f ? 1.f : 0.f; });
    case UnaryOp::LeakyMask: return map(x, y, n, [a](float v) { return v > 0.f ? 1.f : a; });
    case UnaryOp::ClampMask: return map(x, y, n, [a, b](float v) { return (a <= v && v <= b) ? 1.f : 0.f; });
  }
  throw Error("cpu::unary: unknown UnaryOp " + std::to_string(static_cast<int>(op)));
}

void binary(Stream, BinaryOp op, const float* a, const float* b, float* out, const BroadcastShape& shape) {
  switch (op) {
    case BinaryOp::Add: return run_binary(a, b, out, shape, [](float u, float v) { return u + v; });
    case BinaryOp::Sub: return run_binary(a, b, out, shape, [](float u, float v) { return u - v; });
    case BinaryOp::Mul: return run_binary(a, b, out, shape, [](float u, float v) { return u * v; });
    case BinaryOp::Div: return run_binary(a, b, out, shape, [](float u, float v) { return u / v; });
    case BinaryOp::Maximum: return run_binary(a, b, out, shape, nan_max);
    case BinaryOp::Minimum: return run_binary(a, b, out, shape, nan_min);
  }
  throw Error("cpu::binary: unknown BinaryOp " + std::to_string(static_cast<int>(op)));
}

void broadcast_copy(Stream, const float* a, float* out, const BroadcastShape& shape) {
  for_each_broadcast_row(shape, [a, out](int64_t o, int64_t oa, int64_t, int64_t inner, int64_t sa, int64_t) {
    if (sa == 0) std::fill(out + o, out + o + inner, a[oa]);
    else for (int64_t i = 0; i < inner; ++i) out[o + i] = a[oa + i * sa];
  });
}

void fill(Stream, float* y, int64_t n, float value) {
#pragma omp parallel for schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) y[i] = value;
}

void copy_2d(Stream, const float* src, int64_t src_ld, float* dst, int64_t dst_ld, int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0) return;
#pragma omp parallel for schedule(static) if (rows * cols > kParallelMin)
  for (int64_t r = 0; r < rows; ++r)
    std::memmove(dst + r * dst_ld, src + r * src_ld, static_cast<size_t>(cols) * sizeof(float));
}

}  // namespace ganglion::cpu
