// kernels/cuda/reduce.cu — CUDA twin of kernels/reduce.h: sum and max along the middle axis of
// [outer, r, inner], and the scatter/gather of an arg-max index. One generic reduction drives both sum and max:
// a row kernel (inner == 1: a warp or a block per row, coalesced along r) and a column kernel (inner > 1: a
// 32-column tile per block, 8 partial rows combined through shared memory). When there are too few rows or
// tiles to fill the GPU and r is long, r is split into chunks whose partial results a second pass combines.
// No atomics: results are deterministic.
#include <algorithm>
#include <cmath>

#include "kernels/cuda/check.h"
#include "kernels/cuda/reduce_util.cuh"
#include "kernels/reduce.h"

namespace ganglion::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kRowsPerTile = kThreads / kWarpSize;  // column kernel: 8 partial rows of 32 columns
constexpr int64_t kMaxGrid = 65535LL * 8;
constexpr int64_t kTargetBlocks = 512;  // below this many blocks, long reductions are split along r

// ---- accumulators: identity, lift one element, merge two partials ----

struct SumAcc {
  float v;
  __device__ static SumAcc identity() { return {0.f}; }
  __device__ static SumAcc of(float x, int64_t) { return {x}; }
  __device__ static SumAcc merge(const SumAcc& a, const SumAcc& b) { return {a.v + b.v}; }
};
__device__ __forceinline__ SumAcc shfl_xor(SumAcc a, int m) { return {cuda::shfl_xor(a.v, m)}; }

// Max with its first index. A NaN beats every number and the first NaN is kept (PyTorch's max propagates
// NaN; the CPU twin does the same). j < 0 marks the identity. merge is commutative, so all lanes agree.
struct MaxAcc {
  float v;
  int32_t j;
  __device__ static MaxAcc identity() { return {0.f, -1}; }
  __device__ static MaxAcc of(float x, int64_t j) { return {x, static_cast<int32_t>(j)}; }
  __device__ static bool beats(const MaxAcc& a, const MaxAcc& b) {  // should a replace b?
    if (b.j < 0) return a.j >= 0;
    if (a.j < 0) return false;
    const bool an = isnan(a.v), bn = isnan(b.v);
    if (an != bn) return an;
    if (!an && a.v != b.v) return a.v > b.v;
    return a.j < b.j;
  }
  __device__ static MaxAcc merge(const MaxAcc& a, const MaxAcc& b) { return beats(b, a) ? b : a; }
};
__device__ __forceinline__ MaxAcc shfl_xor(MaxAcc a, int m) {
  return {cuda::shfl_xor(a.v, m), __shfl_xor_sync(0xffffffffu, a.j, m)};
}

struct MergeOp {
  template <class A>
  __device__ __forceinline__ A operator()(const A& a, const A& b) const {
    return A::merge(a, b);
  }
};

// An input element becomes an accumulator: a float is lifted at its index j; a partial passes through.
template <class A>
__device__ __forceinline__ A lift(float x, int64_t j) {
  return A::of(x, j);
}
template <class A>
__device__ __forceinline__ A lift(const A& a, int64_t) {
  return a;
}

// ---- where results go ----

struct SumOut {
  float* y;
  float scale;
  __device__ void put(int64_t pos, const SumAcc& a) const { y[pos] = a.v * scale; }
};
struct MaxOut {
  float* y;
  int32_t* idx;
  __device__ void put(int64_t pos, const MaxAcc& a) const {
    y[pos] = a.v;
    idx[pos] = a.j;
  }
};
template <class A>
struct PartialOut {
  A* p;
  __device__ void put(int64_t pos, const A& a) const { p[pos] = a; }
};

// inner == 1. x is [outer, r]; segment s = o*P + c covers x[o, c*L .. min(r, (c+1)*L)) and goes to sink[s].
// TPR threads per segment: 32 (a warp per row, for short rows) or kThreads (the whole block).
template <int TPR, class A, class T, class Sink>
__global__ void __launch_bounds__(kThreads)
    row_reduce_kernel(const T* __restrict__ x, Sink sink, int64_t outer, int64_t r, int64_t P, int64_t L) {
  __shared__ A scratch[kThreads / kWarpSize];
  constexpr int kGroups = kThreads / TPR;
  const int group = static_cast<int>(threadIdx.x) / TPR, lane = static_cast<int>(threadIdx.x) % TPR;
  const int64_t segs = outer * P;
  // `base` is the same for the whole block, so every thread reaches group_reduce equally often.
  for (int64_t base = static_cast<int64_t>(blockIdx.x) * kGroups; base < segs;
       base += static_cast<int64_t>(gridDim.x) * kGroups) {
    const int64_t seg = base + group;
    A acc = A::identity();
    if (seg < segs) {
      const int64_t o = seg / P, c = seg % P;
      const int64_t j0 = c * L, j1 = min(r, j0 + L);
      const T* row = x + o * r;
      for (int64_t j = j0 + lane; j < j1; j += TPR) acc = A::merge(acc, lift<A>(row[j], j));
    }
    acc = group_reduce<TPR>(acc, MergeOp{}, scratch);
    if (seg < segs && lane == 0) sink.put(seg, acc);
  }
}

// inner > 1. x is [outer, r, inner]; a tile is (o, 32 consecutive columns, chunk c of r). Thread (ty, tx) walks
// rows j0+ty, j0+ty+8, ... of column tx; the 8 partials are merged in order and written to
// sink[(o*P + c)*inner + i].
template <class A, class T, class Sink>
__global__ void __launch_bounds__(kThreads) col_reduce_kernel(const T* __restrict__ x, Sink sink, int64_t outer,
                                                               int64_t r, int64_t inner, int64_t P, int64_t L) {
  __shared__ A tile[kRowsPerTile][kWarpSize];
  const int tx = static_cast<int>(threadIdx.x) % kWarpSize, ty = static_cast<int>(threadIdx.x) / kWarpSize;
  const int64_t ntile = (inner + kWarpSize - 1) / kWarpSize;
  const int64_t tiles = outer * ntile * P;
  for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {  // block-uniform, so the barriers are safe
    const int64_t c = t % P, rest = t / P;
    const int64_t o = rest / ntile, i = (rest % ntile) * kWarpSize + tx;
    const int64_t j0 = c * L, j1 = min(r, j0 + L);
    A acc = A::identity();
    if (i < inner) {
      const T* col = x + o * r * inner + i;
      for (int64_t j = j0 + ty; j < j1; j += kRowsPerTile) acc = A::merge(acc, lift<A>(col[j * inner], j));
    }
    tile[ty][tx] = acc;
    __syncthreads();
    if (ty == 0 && i < inner) {
#pragma unroll
      for (int k = 1; k < kRowsPerTile; ++k) acc = A::merge(acc, tile[k][tx]);
      sink.put((o * P + c) * inner + i, acc);
    }
    __syncthreads();
  }
}

unsigned blocks_for(int64_t units) {
  return static_cast<unsigned>(units < 1 ? 1 : units > kMaxGrid ? kMaxGrid : units);
}

// One pass over [outer, r, inner] in chunks of L along r (P = ceil(r/L) chunks) into `sink`.
template <class A, class T, class Sink>
void launch_pass(cudaStream_t st, const T* x, Sink sink, int64_t outer, int64_t r, int64_t inner, int64_t P,
                 int64_t L, const char* op) {
  if (inner == 1) {
    if (L <= 1024) {
      const int64_t groups = kThreads / kWarpSize;
      row_reduce_kernel<kWarpSize, A><<<blocks_for((outer * P + groups - 1) / groups), kThreads, 0, st>>>(
          x, sink, outer, r, P, L);
    } else {
      row_reduce_kernel<kThreads, A><<<blocks_for(outer * P), kThreads, 0, st>>>(x, sink, outer, r, P, L);
    }
  } else {
    const int64_t ntile = (inner + kWarpSize - 1) / kWarpSize;
    col_reduce_kernel<A><<<blocks_for(outer * ntile * P), kThreads, 0, st>>>(x, sink, outer, r, inner, P, L);
  }
  GANGLION_LAUNCH_CHECK(op);
}

// Reduces x [outer, r, inner] along r into `sink` ([outer, inner]), splitting long reductions in two passes.
template <class A, class Sink>
void reduce_axis(Stream s, const float* x, Sink sink, int64_t outer, int64_t r, int64_t inner, const char* op) {
  if (outer <= 0 || inner <= 0) return;
  cudaStream_t st = as_stream(s);
  const int64_t blocks = inner == 1 ? (r > 1024 ? outer : (outer + 7) / 8)
                                    : outer * ((inner + kWarpSize - 1) / kWarpSize);
  const int64_t min_chunk = inner == 1 ? 4096 : 64;
  int64_t P = 1;
  if (blocks < kTargetBlocks && r >= 2 * min_chunk) {
    P = std::min((kTargetBlocks + blocks - 1) / blocks, r / min_chunk);
  }
  if (P <= 1) {
    launch_pass<A>(st, x, sink, outer, r, inner, 1, r, op);
    return;
  }
  const int64_t L = (r + P - 1) / P;
  P = (r + L - 1) / L;
  DeviceScratch part(sizeof(A) * static_cast<size_t>(outer * P * inner));
  A* partial = part.as<A>();
  launch_pass<A>(st, x, PartialOut<A>{partial}, outer, r, inner, P, L, op);
  launch_pass<A>(st, static_cast<const A*>(partial), sink, outer, P, inner, 1, P, op);
}

__global__ void scatter_axis_kernel(const float* __restrict__ g, const int32_t* __restrict__ idx,
                                    float* __restrict__ out, int64_t outer, int64_t r, int64_t inner) {
  const int64_t n = outer * r * inner;
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < n;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = e % inner, rest = e / inner;
    const int64_t j = rest % r, o = rest / r;
    const int64_t k = o * inner + i;
    out[e] = (idx[k] == j) ? g[k] : 0.f;
  }
}

// An index outside [0, r) yields NaN rather than a read out of bounds.
__global__ void gather_axis_kernel(const float* __restrict__ x, const int32_t* __restrict__ idx,
                                   float* __restrict__ y, int64_t outer, int64_t r, int64_t inner) {
  const int64_t n = outer * inner;
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < n;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = k % inner, o = k / inner;
    const int32_t j = idx[k];
    y[k] = (j >= 0 && j < r) ? x[(o * r + j) * inner + i] : __int_as_float(0x7fc00000);
  }
}

}  // namespace

void sum_axis(Stream s, const float* x, float* y, int64_t outer, int64_t r, int64_t inner, float scale) {
  reduce_axis<SumAcc>(s, x, SumOut{y, scale}, outer, r, inner, "sum_axis");
}

void max_axis(Stream s, const float* x, float* y, int32_t* idx, int64_t outer, int64_t r, int64_t inner) {
  if (r < 1) throw Error("max_axis: requires r >= 1, got r = " + std::to_string(r));
  reduce_axis<MaxAcc>(s, x, MaxOut{y, idx}, outer, r, inner, "max_axis");
}

void scatter_axis(Stream s, const float* g, const int32_t* idx, float* out, int64_t outer, int64_t r, int64_t inner) {
  const int64_t n = outer * r * inner;
  if (n <= 0) return;
  scatter_axis_kernel<<<grid_for(n), 256, 0, as_stream(s)>>>(g, idx, out, outer, r, inner);
  GANGLION_LAUNCH_CHECK("scatter_axis");
}

void gather_axis(Stream s, const float* x, const int32_t* idx, float* y, int64_t outer, int64_t r, int64_t inner) {
  const int64_t n = outer * inner;
  if (n <= 0) return;
  gather_axis_kernel<<<grid_for(n), 256, 0, as_stream(s)>>>(x, idx, y, outer, r, inner);
  GANGLION_LAUNCH_CHECK("gather_axis");
}

}  // namespace ganglion::cuda
