// kernels/cuda/batchnorm.cu — the native CUDA twin of kernels/batchnorm.h: batch normalisation over [N, C, L].
//
// Every entry point is the same three steps, all deterministic (fixed reduction order, no atomics):
//   1. partials: block (c, row slice, column slice) sums two per-channel quantities in double —
//        training forward: d = x - x[0,c,0] and d*d (shifted sums, safe when |mean| >> std);
//        backward:         dy and dy*(x - mean);
//   2. finalize: one thread per channel adds the slices in order and writes the statistics / dgamma / dbeta and
//      four per-channel coefficients (center, scale, shift, dy_scale);
//   3. apply: out = (x - center)*scale + shift [+ dy_scale*dy], one pass, float4 when L % 4 == 0.
// Eval forward is step 3 with coefficients from the running statistics.
// Rows of the [N*C, L] view are handled by `tpr` threads each (a power of two >= L/vec, at most 256), so small L
// (e.g. 4x4 maps) still keeps the threads busy. L == 1 (BatchNorm1d on [N, C]) reads with stride C: correct,
// not coalesced.
#include <algorithm>
#include <cstdint>
#include <string>

#include "kernels/batchnorm.h"
#include "kernels/cuda/check.h"
#include "kernels/device.h"

namespace ganglion::cuda {
namespace {

constexpr int kThreads = 256;
// Blocks wanted for the statistics pass (about four waves on an H100). A constant rather than a query, so the
// slicing (and so every bit of the result) does not depend on the GPU.
constexpr int64_t kTargetBlocks = 512;

// Coefficient table layout: coef[kCenter*C + c] etc.
enum { kCenter = 0, kScale = 1, kShift = 2, kDyScale = 3, kCoefs = 4 };

template <int kVec>
struct VecOf;
template <>
struct VecOf<1> {
  using T = float;
};
template <>
struct VecOf<4> {
  using T = float4;
};

__device__ __forceinline__ float lane(const float& v, int) { return v; }
__device__ __forceinline__ float lane(const float4& v, int i) {
  return i == 0 ? v.x : i == 1 ? v.y : i == 2 ? v.z : v.w;
}
__device__ __forceinline__ void set_lane(float& v, int, float f) { v = f; }
__device__ __forceinline__ void set_lane(float4& v, int i, float f) {
  if (i == 0) v.x = f;
  else if (i == 1) v.y = f;
  else if (i == 2) v.z = f;
  else v.w = f;
}

// Block-wide sum of a double2, in a fixed order; the result is valid in thread 0.
__device__ double2 block_sum(double2 v) {
  __shared__ double2 warp_sums[kThreads / 32];
  for (int off = 16; off > 0; off /= 2) {
    v.x += __shfl_down_sync(0xffffffffu, v.x, off);
    v.y += __shfl_down_sync(0xffffffffu, v.y, off);
  }
  const int warp = threadIdx.x / 32, ln = threadIdx.x % 32;
  if (ln == 0) warp_sums[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = ln < kThreads / 32 ? warp_sums[ln] : make_double2(0.0, 0.0);
    for (int off = 16; off > 0; off /= 2) {
      v.x += __shfl_down_sync(0xffffffffu, v.x, off);
      v.y += __shfl_down_sync(0xffffffffu, v.y, off);
    }
  }
  return v;
}

// Step 1. grid = (C, row slices, column slices); slice (ys, zs) covers rows n in [ys*n_chunk, ...) and vectors
// lv in [zs*l_chunk, ...) of channel c. Writes partials[(c*gridDim.y + ys)*gridDim.z + zs].
template <bool kBackward, int kVec>
__global__ void __launch_bounds__(kThreads, 4)
    bn_partials_kernel(const float* __restrict__ x, const float* __restrict__ dy, const float* __restrict__ mean,
                       double2* __restrict__ partials, int64_t N, int64_t C, int64_t L, int64_t n_chunk,
                       int64_t l_chunk, int tpr) {
  using V = typename VecOf<kVec>::T;
  const int64_t c = blockIdx.x;
  const int64_t Lv = L / kVec;
  const int tx = threadIdx.x % tpr, ty = threadIdx.x / tpr, rpb = kThreads / tpr;
  const int64_t n_end = min(N, (blockIdx.y + 1) * n_chunk);
  const int64_t l_end = min(Lv, (blockIdx.z + 1) * l_chunk);
  const float center = kBackward ? mean[c] : __ldg(x + c * L);  // forward: shift by the channel's first value
  double s1 = 0.0, s2 = 0.0;
  for (int64_t n = blockIdx.y * n_chunk + ty; n < n_end; n += rpb) {
    const int64_t row = (n * C + c) * Lv;
    for (int64_t lv = blockIdx.z * l_chunk + tx; lv < l_end; lv += tpr) {
      const V xv = __ldg(reinterpret_cast<const V*>(x) + row + lv);
      V gv{};
      if (kBackward) gv = __ldg(reinterpret_cast<const V*>(dy) + row + lv);
#pragma unroll
      for (int i = 0; i < kVec; ++i) {
        const double d = static_cast<double>(lane(xv, i)) - center;
        if (kBackward) {
          const double g = lane(gv, i);
          s1 += g;
          s2 += g * d;
        } else {
          s1 += d;
          s2 += d * d;
        }
      }
    }
  }
  const double2 tot = block_sum(make_double2(s1, s2));
  if (threadIdx.x == 0) partials[(c * gridDim.y + blockIdx.y) * gridDim.z + blockIdx.z] = tot;
}

// Step 2, training forward: statistics, running update, coefficients.
__global__ void bn_finalize_forward_kernel(const float* __restrict__ x, const double2* __restrict__ partials,
                                           int slices, const float* __restrict__ gamma,
                                           const float* __restrict__ beta, float* __restrict__ save_mean,
                                           float* __restrict__ save_invstd, float* __restrict__ running_mean,
                                           float* __restrict__ running_var, float* __restrict__ coef, int64_t C,
                                           int64_t L, double count, float momentum, float eps) {
  const int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (c >= C) return;
  double s1 = 0.0, s2 = 0.0;
  for (int j = 0; j < slices; ++j) {
    const double2 p = partials[c * slices + j];
    s1 += p.x;
    s2 += p.y;
  }
  const double shifted_mean = s1 / count;
  const double var = fmax(s2 / count - shifted_mean * shifted_mean, 0.0);
  const double mean = static_cast<double>(x[c * L]) + shifted_mean;
  const double invstd = 1.0 / sqrt(var + static_cast<double>(eps));
  save_mean[c] = static_cast<float>(mean);
  save_invstd[c] = static_cast<float>(invstd);
  if (running_mean != nullptr) {
    running_mean[c] = static_cast<float>((1.0 - momentum) * running_mean[c] + momentum * mean);
  }
  if (running_var != nullptr) {
    // Unbiased variance for the running estimate; with a single value per channel it is undefined and the
    // biased one (0) is used.
    const double unbiased = count > 1.0 ? var * count / (count - 1.0) : var;
    running_var[c] = static_cast<float>((1.0 - momentum) * running_var[c] + momentum * unbiased);
  }
  const double g = gamma != nullptr ? gamma[c] : 1.0;
  coef[kCenter * C + c] = static_cast<float>(mean);
  coef[kScale * C + c] = static_cast<float>(g * invstd);
  coef[kShift * C + c] = beta != nullptr ? beta[c] : 0.f;
  coef[kDyScale * C + c] = 0.f;
}

// Step 2, eval forward: coefficients from the running statistics.
__global__ void bn_eval_coef_kernel(const float* __restrict__ gamma, const float* __restrict__ beta,
                                    const float* __restrict__ running_mean, const float* __restrict__ running_var,
                                    float* __restrict__ coef, int64_t C, float eps) {
  const int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (c >= C) return;
  const double invstd = 1.0 / sqrt(static_cast<double>(running_var[c]) + static_cast<double>(eps));
  const double g = gamma != nullptr ? gamma[c] : 1.0;
  coef[kCenter * C + c] = running_mean[c];
  coef[kScale * C + c] = static_cast<float>(g * invstd);
  coef[kShift * C + c] = beta != nullptr ? beta[c] : 0.f;
  coef[kDyScale * C + c] = 0.f;
}

// Step 2, backward: dgamma = sum(dy*xhat), dbeta = sum(dy), and
//   dx = a*dy - a*mean(dy) - a*invstd*mean(dy*xhat)*(x - mean),  a = gamma*invstd.
__global__ void bn_finalize_backward_kernel(const double2* __restrict__ partials, int slices,
                                            const float* __restrict__ gamma, const float* __restrict__ save_mean,
                                            const float* __restrict__ save_invstd, float* __restrict__ dgamma,
                                            float* __restrict__ dbeta, float* __restrict__ coef, int64_t C,
                                            double count) {
  const int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (c >= C) return;
  double sum_dy = 0.0, sum_dy_xmu = 0.0;
  for (int j = 0; j < slices; ++j) {
    const double2 p = partials[c * slices + j];
    sum_dy += p.x;
    sum_dy_xmu += p.y;
  }
  const double invstd = save_invstd[c];
  const double sum_dy_xhat = sum_dy_xmu * invstd;
  if (dgamma != nullptr) dgamma[c] = static_cast<float>(sum_dy_xhat);
  if (dbeta != nullptr) dbeta[c] = static_cast<float>(sum_dy);
  const double a = (gamma != nullptr ? gamma[c] : 1.0) * invstd;
  coef[kCenter * C + c] = save_mean[c];
  coef[kScale * C + c] = static_cast<float>(-a * invstd * (sum_dy_xhat / count));
  coef[kShift * C + c] = static_cast<float>(-a * (sum_dy / count));
  coef[kDyScale * C + c] = static_cast<float>(a);
}

// Step 3. grid.x covers rows (kThreads/tpr rows per block), grid.y column blocks of tpr vectors (grid-stride).
template <bool kHasDy, int kVec>
__global__ void __launch_bounds__(kThreads)
    bn_apply_kernel(const float* __restrict__ x, const float* __restrict__ dy, const float* __restrict__ coef,
                    float* __restrict__ out, int64_t rows, int64_t C, int64_t Lv, int tpr) {
  using V = typename VecOf<kVec>::T;
  const int tx = threadIdx.x % tpr, ty = threadIdx.x / tpr;
  const int64_t row = blockIdx.x * static_cast<int64_t>(kThreads / tpr) + ty;
  if (row >= rows) return;
  const int64_t c = row % C;
  const float center = coef[kCenter * C + c], scale = coef[kScale * C + c], shift = coef[kShift * C + c];
  const float dscale = kHasDy ? coef[kDyScale * C + c] : 0.f;
  const V* xr = reinterpret_cast<const V*>(x) + row * Lv;
  const V* gr = kHasDy ? reinterpret_cast<const V*>(dy) + row * Lv : nullptr;
  V* orow = reinterpret_cast<V*>(out) + row * Lv;
  for (int64_t lv = blockIdx.y * static_cast<int64_t>(tpr) + tx; lv < Lv; lv += static_cast<int64_t>(gridDim.y) * tpr) {
    const V xv = __ldg(xr + lv);
    V gv{};
    if (kHasDy) gv = __ldg(gr + lv);
    V o{};
#pragma unroll
    for (int i = 0; i < kVec; ++i) {
      float v = fmaf(lane(xv, i) - center, scale, shift);
      if (kHasDy) v = fmaf(dscale, lane(gv, i), v);
      set_lane(o, i, v);
    }
    orow[lv] = o;
  }
}

// ---- host side ----

bool aligned16(const void* p) { return p == nullptr || reinterpret_cast<uintptr_t>(p) % 16 == 0; }

int threads_per_row(int64_t Lv) {
  int t = 1;
  while (t < Lv && t < kThreads) t *= 2;
  return t;
}

void check_sizes(const char* op, int64_t N, int64_t C, int64_t L) {
  if (N < 0 || C < 0 || L < 0) throw Error(std::string(op) + ": negative size");
  if (C > INT32_MAX) throw Error(std::string(op) + ": C = " + std::to_string(C) + " exceeds the grid");
}

// Scratch: [partials (double2)] [coef (kCoefs*C floats)], one allocation, freed stream-ordered.
struct Scratch {
  void* base = nullptr;
  double2* partials = nullptr;
  float* coef = nullptr;
  Scratch(int64_t n_partials, int64_t C) {
    const size_t pbytes = static_cast<size_t>(n_partials) * sizeof(double2);
    base = device_alloc(pbytes + static_cast<size_t>(kCoefs * C) * sizeof(float));
    partials = static_cast<double2*>(base);
    coef = reinterpret_cast<float*>(static_cast<char*>(base) + pbytes);
  }
  ~Scratch() { device_free(base); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

// How step 1 slices each channel's N*L values.
struct Slicing {
  int tpr = 1;
  int64_t n_chunk = 1, l_chunk = 1, ys = 1, zs = 1;
  int64_t slices() const { return ys * zs; }
};

Slicing plan_slices(int64_t N, int64_t C, int64_t Lv) {
  Slicing sl;
  sl.tpr = threads_per_row(Lv);
  int64_t per_channel = std::max<int64_t>(1, (kTargetBlocks + C - 1) / C);
  per_channel = std::min<int64_t>(per_channel, std::max<int64_t>(1, N * Lv / 2048));  // >= ~2K vectors each
  sl.ys = std::min<int64_t>({N, per_channel, 65535});
  sl.ys = std::max<int64_t>(sl.ys, 1);
  sl.n_chunk = (N + sl.ys - 1) / sl.ys;
  sl.ys = (N + sl.n_chunk - 1) / sl.n_chunk;
  sl.zs = std::min<int64_t>({(per_channel + sl.ys - 1) / sl.ys, (Lv + sl.tpr - 1) / sl.tpr, 65535});
  sl.zs = std::max<int64_t>(sl.zs, 1);
  sl.l_chunk = (Lv + sl.zs - 1) / sl.zs;
  sl.zs = (Lv + sl.l_chunk - 1) / sl.l_chunk;
  return sl;
}

template <bool kBackward>
void launch_partials(const char* op, cudaStream_t st, bool vec4, const Slicing& sl, const float* x, const float* dy,
                     const float* mean, double2* partials, int64_t N, int64_t C, int64_t L) {
  const dim3 grid(static_cast<unsigned>(C), static_cast<unsigned>(sl.ys), static_cast<unsigned>(sl.zs));
  if (vec4) {
    bn_partials_kernel<kBackward, 4>
        <<<grid, kThreads, 0, st>>>(x, dy, mean, partials, N, C, L, sl.n_chunk, sl.l_chunk, sl.tpr);
  } else {
    bn_partials_kernel<kBackward, 1>
        <<<grid, kThreads, 0, st>>>(x, dy, mean, partials, N, C, L, sl.n_chunk, sl.l_chunk, sl.tpr);
  }
  GANGLION_LAUNCH_CHECK(op);
}

template <bool kHasDy>
void launch_apply(const char* op, cudaStream_t st, bool vec4, const float* x, const float* dy, const float* coef,
                  float* out, int64_t N, int64_t C, int64_t L) {
  const int64_t Lv = vec4 ? L / 4 : L;
  const int tpr = threads_per_row(Lv);
  const int64_t rows = N * C, rpb = kThreads / tpr;
  const int64_t gx = (rows + rpb - 1) / rpb;
  if (gx > INT32_MAX) throw Error(std::string(op) + ": too many rows for the grid");
  const dim3 grid(static_cast<unsigned>(gx), static_cast<unsigned>(std::min<int64_t>((Lv + tpr - 1) / tpr, 65535)));
  if (vec4) {
    bn_apply_kernel<kHasDy, 4><<<grid, kThreads, 0, st>>>(x, dy, coef, out, rows, C, Lv, tpr);
  } else {
    bn_apply_kernel<kHasDy, 1><<<grid, kThreads, 0, st>>>(x, dy, coef, out, rows, C, Lv, tpr);
  }
  GANGLION_LAUNCH_CHECK(op);
}

unsigned channel_blocks(int64_t C) { return static_cast<unsigned>((C + 127) / 128); }

}  // namespace

void batchnorm_forward_train(Stream s, const float* x, const float* gamma, const float* beta, float* y,
                             float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                             int64_t N, int64_t C, int64_t L, float momentum, float eps) {
  const char* op = "batchnorm_forward_train (cuda)";
  check_sizes(op, N, C, L);
  if (C == 0 || N * L == 0) return;
  cudaStream_t st = as_stream(s);
  const bool vec4 = L % 4 == 0 && aligned16(x) && aligned16(y);
  const Slicing sl = plan_slices(N, C, vec4 ? L / 4 : L);
  Scratch scratch(C * sl.slices(), C);
  launch_partials<false>(op, st, vec4, sl, x, nullptr, nullptr, scratch.partials, N, C, L);
  bn_finalize_forward_kernel<<<channel_blocks(C), 128, 0, st>>>(
      x, scratch.partials, static_cast<int>(sl.slices()), gamma, beta, save_mean, save_invstd, running_mean,
      running_var, scratch.coef, C, L, static_cast<double>(N * L), momentum, eps);
  GANGLION_LAUNCH_CHECK(op);
  launch_apply<false>(op, st, vec4, x, nullptr, scratch.coef, y, N, C, L);
}

void batchnorm_forward_eval(Stream s, const float* x, const float* gamma, const float* beta,
                            const float* running_mean, const float* running_var, float* y, int64_t N, int64_t C,
                            int64_t L, float eps) {
  const char* op = "batchnorm_forward_eval (cuda)";
  check_sizes(op, N, C, L);
  if (C == 0 || N * L == 0) return;
  cudaStream_t st = as_stream(s);
  const bool vec4 = L % 4 == 0 && aligned16(x) && aligned16(y);
  Scratch scratch(0, C);
  bn_eval_coef_kernel<<<channel_blocks(C), 128, 0, st>>>(gamma, beta, running_mean, running_var, scratch.coef, C,
                                                          eps);
  GANGLION_LAUNCH_CHECK(op);
  launch_apply<false>(op, st, vec4, x, nullptr, scratch.coef, y, N, C, L);
}

void batchnorm_backward(Stream s, const float* x, const float* dy, const float* gamma, const float* save_mean,
                        const float* save_invstd, float* dx, float* dgamma, float* dbeta, int64_t N, int64_t C,
                        int64_t L) {
  const char* op = "batchnorm_backward (cuda)";
  check_sizes(op, N, C, L);
  if (C == 0 || N * L == 0) return;
  cudaStream_t st = as_stream(s);
  const bool vec4 = L % 4 == 0 && aligned16(x) && aligned16(dy) && aligned16(dx);
  const Slicing sl = plan_slices(N, C, vec4 ? L / 4 : L);
  Scratch scratch(C * sl.slices(), C);
  launch_partials<true>(op, st, vec4, sl, x, dy, save_mean, scratch.partials, N, C, L);
  bn_finalize_backward_kernel<<<channel_blocks(C), 128, 0, st>>>(scratch.partials, static_cast<int>(sl.slices()),
                                                                  gamma, save_mean, save_invstd, dgamma, dbeta,
                                                                  scratch.coef, C, static_cast<double>(N * L));
  GANGLION_LAUNCH_CHECK(op);
  launch_apply<true>(op, st, vec4, x, dy, scratch.coef, dx, N, C, L);
}

}  // namespace ganglion::cuda
