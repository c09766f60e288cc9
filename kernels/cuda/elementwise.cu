// kernels/cuda/elementwise.cu — CUDA twin of kernels/elementwise.h: unary maps (one kernel per op, with a
// float4 path for 16-byte-aligned buffers), broadcast binary arithmetic (shapes simplified on the host first,
// then a flat fast path for contiguous/scalar operands or a general strided kernel with 32-bit index math
// when it fits), broadcast copies, fill and 2-D block copies. NaN behaviour follows the CPU twin.
#include <algorithm>
#include <cstdint>

#include "kernels/cuda/check.h"
#include "kernels/elementwise.h"

namespace ganglion::cuda {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float nan_f() { return __int_as_float(0x7fc00000); }

__device__ __forceinline__ float stable_softplus(float v) { return fmaxf(v, 0.f) + log1pf(expf(-fabsf(v))); }

// ---- unary ----

template <UnaryOp OP>
__device__ __forceinline__ float apply_unary(float v, float a, float b) {
  if constexpr (OP == UnaryOp::Neg) return -v;
  else if constexpr (OP == UnaryOp::Exp) return expf(v);
  else if constexpr (OP == UnaryOp::Log) return logf(v);
  else if constexpr (OP == UnaryOp::Sqrt) return sqrtf(v);
  else if constexpr (OP == UnaryOp::Rsqrt) return 1.f / sqrtf(v);  // IEEE, as the CPU; rsqrtf is 2 ulp
  else if constexpr (OP == UnaryOp::Reciprocal) return 1.f / v;
  else if constexpr (OP == UnaryOp::Square) return v * v;
  else if constexpr (OP == UnaryOp::Abs) return fabsf(v);
  else if constexpr (OP == UnaryOp::Sign) return static_cast<float>((0.f < v) - (v < 0.f));
  else if constexpr (OP == UnaryOp::Relu) return v < 0.f ? 0.f : v;  // lets NaN through
  else if constexpr (OP == UnaryOp::LeakyRelu) return v > 0.f ? v : a * v;
  else if constexpr (OP == UnaryOp::Tanh) return tanhf(v);
  else if constexpr (OP == UnaryOp::Sigmoid) {
    if (v >= 0.f) return 1.f / (1.f + expf(-v));
    const float e = expf(v);
    return e / (1.f + e);
  } else if constexpr (OP == UnaryOp::Softplus) return stable_softplus(v);
  else if constexpr (OP == UnaryOp::LogSigmoid) return -stable_softplus(-v);
  else if constexpr (OP == UnaryOp::Pow) return powf(v, a);
  else if constexpr (OP == UnaryOp::Clamp) {
    const float lo = v < a ? a : v;  // std::min(std::max(v, a), b): NaN propagates
    return b < lo ? b : lo;
  } else if constexpr (OP == UnaryOp::AddScalar) return v + a;
  else if constexpr (OP == UnaryOp::MulScalar) return v * a;
  else if constexpr (OP == UnaryOp::Affine) return a * v + b;
  else if constexpr (OP == UnaryOp::ReluMask) return v > 0.f ? 1.f : 0.f;
  else if constexpr (OP == UnaryOp::LeakyMask) return v > 0.f ? 1.f : a;
  else if constexpr (OP == UnaryOp::ClampMask) return (a <= v && v <= b) ? 1.f : 0.f;
  else static_assert(OP != OP, "apply_unary: unhandled UnaryOp");
}

// x and y may alias, so no __restrict__.
template <UnaryOp OP>
__global__ void unary_kernel(const float* x, float* y, int64_t n, float a, float b) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] = apply_unary<OP>(x[i], a, b);
}

// x, y 16-byte aligned: n/4 float4s, and the n%4 tail by the first threads of the grid.
template <UnaryOp OP>
__global__ void unary_vec4_kernel(const float* x, float* y, int64_t n, float a, float b) {
  const int64_t n4 = n / 4;
  const int64_t tid = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  for (int64_t i = tid; i < n4; i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float4 v = reinterpret_cast<const float4*>(x)[i];
    v.x = apply_unary<OP>(v.x, a, b);
    v.y = apply_unary<OP>(v.y, a, b);
    v.z = apply_unary<OP>(v.z, a, b);
    v.w = apply_unary<OP>(v.w, a, b);
    reinterpret_cast<float4*>(y)[i] = v;
  }
  if (tid < n - n4 * 4) y[n4 * 4 + tid] = apply_unary<OP>(x[n4 * 4 + tid], a, b);
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

template <UnaryOp OP>
void launch_unary(cudaStream_t st, const float* x, float* y, int64_t n, UnaryParams p) {
  if (aligned16(x) && aligned16(y) && n >= 4) {
    unary_vec4_kernel<OP><<<grid_for(n / 4, kThreads), kThreads, 0, st>>>(x, y, n, p.a, p.b);
  } else {
    unary_kernel<OP><<<grid_for(n, kThreads), kThreads, 0, st>>>(x, y, n, p.a, p.b);
  }
  GANGLION_LAUNCH_CHECK("unary");
}

// ---- binary and broadcast copy ----

struct AddF {
  static constexpr bool kUsesB = true;
  __device__ float operator()(float u, float v) const { return u + v; }
};
struct SubF {
  static constexpr bool kUsesB = true;
  __device__ float operator()(float u, float v) const { return u - v; }
};
struct MulF {
  static constexpr bool kUsesB = true;
  __device__ float operator()(float u, float v) const { return u * v; }
};
struct DivF {
  static constexpr bool kUsesB = true;
  __device__ float operator()(float u, float v) const { return u / v; }
};
struct MaxF {  // NaN-propagating, as torch.maximum
  static constexpr bool kUsesB = true;
  __device__ float operator()(float u, float v) const { return (isnan(u) || isnan(v)) ? nan_f() : (u > v ? u : v); }
};
struct MinF {
  static constexpr bool kUsesB = true;
  __device__ float operator()(float u, float v) const { return (isnan(u) || isnan(v)) ? nan_f() : (u < v ? u : v); }
};
struct TakeA {  // broadcast_copy: b is never read
  static constexpr bool kUsesB = false;
  __device__ float operator()(float u, float) const { return u; }
};

// One operand of the flat path: contiguous (element i) or a scalar (element 0 everywhere).
template <bool CONTIG>
__device__ __forceinline__ float4 load4(const float* p, int64_t i4, float scalar) {
  if constexpr (CONTIG) return reinterpret_cast<const float4*>(p)[i4];
  else return make_float4(scalar, scalar, scalar, scalar);
}

// Flat path: out[i] = f(a[A_CONTIG ? i : 0], b[B_CONTIG ? i : 0]). VEC: every contiguous pointer is 16-byte
// aligned; n/4 float4s, then the tail by the first threads.
template <class F, bool A_CONTIG, bool B_CONTIG, bool VEC>
__global__ void binary_flat_kernel(const float* a, const float* b, float* out, int64_t n) {
  const F f;
  const float sa = A_CONTIG ? 0.f : a[0];
  const float sb = (B_CONTIG || !F::kUsesB) ? 0.f : b[0];
  const int64_t tid = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t start = 0;
  if constexpr (VEC) {
    const int64_t n4 = n / 4;
    for (int64_t i = tid; i < n4; i += step) {
      const float4 u = load4<A_CONTIG>(a, i, sa);
      const float4 v = F::kUsesB ? load4<B_CONTIG>(b, i, sb) : make_float4(0.f, 0.f, 0.f, 0.f);
      reinterpret_cast<float4*>(out)[i] = make_float4(f(u.x, v.x), f(u.y, v.y), f(u.z, v.z), f(u.w, v.w));
    }
    start = n4 * 4;
  }
  for (int64_t i = start + tid; i < n; i += step) {
    const float u = A_CONTIG ? a[i] : sa;
    const float v = F::kUsesB ? (B_CONTIG ? b[i] : sb) : 0.f;
    out[i] = f(u, v);
  }
}

// General path: out is contiguous with shape sh; the index of element i is decomposed innermost-first.
// I is uint32_t when every offset fits (cheaper division), else int64_t.
template <class F, class I>
__global__ void binary_strided_kernel(const float* a, const float* b, float* out, BroadcastShape sh, I n) {
  const F f;
  for (I i = blockIdx.x * static_cast<I>(blockDim.x) + threadIdx.x; i < n; i += static_cast<I>(gridDim.x) * blockDim.x) {
    I rem = i, oa = 0, ob = 0;
    for (int d = sh.ndim - 1; d >= 0; --d) {
      const I extent = static_cast<I>(sh.shape[d]);
      const I k = rem % extent;
      rem /= extent;
      oa += k * static_cast<I>(sh.stride_a[d]);
      if constexpr (F::kUsesB) ob += k * static_cast<I>(sh.stride_b[d]);
    }
    out[i] = f(a[oa], F::kUsesB ? b[ob] : 0.f);
  }
}

// Drops extent-1 dimensions and merges neighbours that are contiguous with each other in both operands, so
// that e.g. [N, C, H, W] + [1, C, 1, 1] becomes [N, C, H*W] and a same-shape add becomes one flat dimension.
BroadcastShape simplify(const BroadcastShape& in) {
  BroadcastShape s;
  for (int d = 0; d < in.ndim; ++d) {
    if (in.shape[d] == 1) continue;
    if (s.ndim > 0) {
      const int k = s.ndim - 1;
      if (s.stride_a[k] == in.stride_a[d] * in.shape[d] && s.stride_b[k] == in.stride_b[d] * in.shape[d]) {
        s.shape[k] *= in.shape[d];
        s.stride_a[k] = in.stride_a[d];
        s.stride_b[k] = in.stride_b[d];
        continue;
      }
    }
    s.shape[s.ndim] = in.shape[d];
    s.stride_a[s.ndim] = in.stride_a[d];
    s.stride_b[s.ndim] = in.stride_b[d];
    ++s.ndim;
  }
  return s;
}

template <class F, bool A_CONTIG, bool B_CONTIG>
void launch_flat(cudaStream_t st, const float* a, const float* b, float* out, int64_t n) {
  const bool vec = n >= 4 && aligned16(out) && (!A_CONTIG || aligned16(a)) && (!B_CONTIG || aligned16(b));
  if (vec) {
    binary_flat_kernel<F, A_CONTIG, B_CONTIG, true><<<grid_for(n / 4, kThreads), kThreads, 0, st>>>(a, b, out, n);
  } else {
    binary_flat_kernel<F, A_CONTIG, B_CONTIG, false><<<grid_for(n, kThreads), kThreads, 0, st>>>(a, b, out, n);
  }
}

// Largest offset (plus one) any operand or the output reaches, to choose 32-bit index math.
int64_t index_span(const BroadcastShape& s) {
  int64_t span = s.numel(), ea = 1, eb = 1;
  for (int d = 0; d < s.ndim; ++d) {
    ea += (s.shape[d] - 1) * (s.stride_a[d] < 0 ? -s.stride_a[d] : s.stride_a[d]);
    eb += (s.shape[d] - 1) * (s.stride_b[d] < 0 ? -s.stride_b[d] : s.stride_b[d]);
  }
  return std::max(span, std::max(ea, eb));
}

template <class F>
void launch_binary(Stream stream, const float* a, const float* b, float* out, const BroadcastShape& shape,
                   const char* op) {
  if (shape.ndim < 0 || shape.ndim > kMaxDims) throw Error(std::string(op) + ": bad ndim " + std::to_string(shape.ndim));
  const int64_t n = shape.numel();
  if (n <= 0) return;
  cudaStream_t st = as_stream(stream);
  const BroadcastShape s = simplify(shape);
  const bool one = s.ndim <= 1;
  const int64_t sa = s.ndim == 1 ? s.stride_a[0] : 0, sb = s.ndim == 1 ? s.stride_b[0] : 0;
  const bool b_ok = !F::kUsesB || sb == 0 || sb == 1;
  if (one && (sa == 0 || sa == 1) && b_ok) {
    const bool ca = sa == 1, cb = F::kUsesB && sb == 1;
    if (ca && cb) launch_flat<F, true, true>(st, a, b, out, n);
    else if (ca) launch_flat<F, true, false>(st, a, b, out, n);
    else if (cb) launch_flat<F, false, true>(st, a, b, out, n);
    else launch_flat<F, false, false>(st, a, b, out, n);
  } else if (index_span(s) <= static_cast<int64_t>(UINT32_MAX) - 2LL * 65535 * 8 * kThreads) {
    // (the margin keeps the grid-stride increment of a 32-bit index from wrapping past n)
    binary_strided_kernel<F, uint32_t><<<grid_for(n, kThreads), kThreads, 0, st>>>(a, b, out, s,
                                                                                     static_cast<uint32_t>(n));
  } else {
    binary_strided_kernel<F, int64_t><<<grid_for(n, kThreads), kThreads, 0, st>>>(a, b, out, s, n);
  }
  GANGLION_LAUNCH_CHECK(op);
}

// ---- fill and copy_2d ----

__global__ void fill_kernel(float* __restrict__ y, int64_t n, float value) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] = value;
}

// Rows walk gridDim.y (capped at 65535), columns gridDim.x * blockDim.x.
__global__ void copy_2d_kernel(const float* __restrict__ src, int64_t src_ld, float* __restrict__ dst,
                               int64_t dst_ld, int64_t rows, int64_t cols) {
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    const float* s = src + r * src_ld;
    float* d = dst + r * dst_ld;
    for (int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; c < cols;
         c += static_cast<int64_t>(gridDim.x) * blockDim.x)
      d[c] = s[c];
  }
}

}  // namespace

void unary(Stream s, UnaryOp op, const float* x, float* y, int64_t n, UnaryParams p) {
  if (n <= 0) return;
  cudaStream_t st = as_stream(s);
  switch (op) {
    case UnaryOp::Neg: return launch_unary<UnaryOp::Neg>(st, x, y, n, p);
    case UnaryOp::Exp: return launch_unary<UnaryOp::Exp>(st, x, y, n, p);
    case UnaryOp::Log: return launch_unary<UnaryOp::Log>(st, x, y, n, p);
    case UnaryOp::Sqrt: return launch_unary<UnaryOp::Sqrt>(st, x, y, n, p);
    case UnaryOp::Rsqrt: return launch_unary<UnaryOp::Rsqrt>(st, x, y, n, p);
    case UnaryOp::Reciprocal: return launch_unary<UnaryOp::Reciprocal>(st, x, y, n, p);
    case UnaryOp::Square: return launch_unary<UnaryOp::Square>(st, x, y, n, p);
    case UnaryOp::Abs: return launch_unary<UnaryOp::Abs>(st, x, y, n, p);
    case UnaryOp::Sign: return launch_unary<UnaryOp::Sign>(st, x, y, n, p);
    case UnaryOp::Relu: return launch_unary<UnaryOp::Relu>(st, x, y, n, p);
    case UnaryOp::LeakyRelu: return launch_unary<UnaryOp::LeakyRelu>(st, x, y, n, p);
    case UnaryOp::Tanh: return launch_unary<UnaryOp::Tanh>(st, x, y, n, p);
    case UnaryOp::Sigmoid: return launch_unary<UnaryOp::Sigmoid>(st, x, y, n, p);
    case UnaryOp::Softplus: return launch_unary<UnaryOp::Softplus>(st, x, y, n, p);
    case UnaryOp::LogSigmoid: return launch_unary<UnaryOp::LogSigmoid>(st, x, y, n, p);
    case UnaryOp::Pow: return launch_unary<UnaryOp::Pow>(st, x, y, n, p);
    case UnaryOp::Clamp: return launch_unary<UnaryOp::Clamp>(st, x, y, n, p);
    case UnaryOp::AddScalar: return launch_unary<UnaryOp::AddScalar>(st, x, y, n, p);
    case UnaryOp::MulScalar: return launch_unary<UnaryOp::MulScalar>(st, x, y, n, p);
    case UnaryOp::Affine: return launch_unary<UnaryOp::Affine>(st, x, y, n, p);
    case UnaryOp::ReluMask: return launch_unary<UnaryOp::ReluMask>(st, x, y, n, p);
    case UnaryOp::LeakyMask: return launch_unary<UnaryOp::LeakyMask>(st, x, y, n, p);
    case UnaryOp::ClampMask: return launch_unary<UnaryOp::ClampMask>(st, x, y, n, p);
  }
  throw Error("cuda::unary: unknown UnaryOp " + std::to_string(static_cast<int>(op)));
}

void binary(Stream s, BinaryOp op, const float* a, const float* b, float* out, const BroadcastShape& shape) {
  switch (op) {
    case BinaryOp::Add: return launch_binary<AddF>(s, a, b, out, shape, "binary(add)");
    case BinaryOp::Sub: return launch_binary<SubF>(s, a, b, out, shape, "binary(sub)");
    case BinaryOp::Mul: return launch_binary<MulF>(s, a, b, out, shape, "binary(mul)");
    case BinaryOp::Div: return launch_binary<DivF>(s, a, b, out, shape, "binary(div)");
    case BinaryOp::Maximum: return launch_binary<MaxF>(s, a, b, out, shape, "binary(maximum)");
    case BinaryOp::Minimum: return launch_binary<MinF>(s, a, b, out, shape, "binary(minimum)");
  }
  throw Error("cuda::binary: unknown BinaryOp " + std::to_string(static_cast<int>(op)));
}

void broadcast_copy(Stream s, const float* a, float* out, const BroadcastShape& shape) {
  BroadcastShape only_a = shape;
  for (int d = 0; d < kMaxDims; ++d) only_a.stride_b[d] = 0;  // b is unused: keep it from blocking merges
  launch_binary<TakeA>(s, a, nullptr, out, only_a, "broadcast_copy");
}

void fill(Stream s, float* y, int64_t n, float value) {
  if (n <= 0) return;
  fill_kernel<<<grid_for(n, kThreads), kThreads, 0, as_stream(s)>>>(y, n, value);
  GANGLION_LAUNCH_CHECK("fill");
}

void copy_2d(Stream s, const float* src, int64_t src_ld, float* dst, int64_t dst_ld, int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0) return;
  if (src == dst && src_ld == dst_ld) return;
  cudaStream_t st = as_stream(s);
  if (src_ld == cols && dst_ld == cols) {
    GANGLION_CUDA_CHECK(cudaMemcpyAsync(dst, src, static_cast<size_t>(rows * cols) * sizeof(float),
                                        cudaMemcpyDeviceToDevice, st),
                        "copy_2d");
    return;
  }
  const unsigned gx = grid_for(cols, kThreads, 64);
  const unsigned gy = static_cast<unsigned>(rows < 65535 ? rows : 65535);
  copy_2d_kernel<<<dim3(gx, gy), kThreads, 0, st>>>(src, src_ld, dst, dst_ld, rows, cols);
  GANGLION_LAUNCH_CHECK("copy_2d");
}

}  // namespace ganglion::cuda
