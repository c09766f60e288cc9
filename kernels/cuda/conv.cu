// kernels/cuda/conv.cu — the native CUDA twin of kernels/conv.h: forward, backward-data and backward-weight
// convolution as tiled implicit-GEMM kernels in shared memory (FP32 FMA, no tensor cores).
//
// One GEMM kernel template serves all three: C[m][n] = sum_k A[m][k] * B[k][n], where each direction supplies a
// small "problem" struct that says how A and B are gathered from the NCHW tensors (im2col on the fly, zero for
// padding / out-of-range taps) and where C[m][n] is stored.
//   forward          M = N*P*Q (output pixels), N = K, reduction = C*R*S
//   backward-data    M = N*H*W (input pixels),  N = C, reduction = K*R*S, a tap counts only where
//                    (h + pad - r*dil) is a multiple of the stride and lands inside [0, P) (so any H, W work)
//   backward-weight  M = K, N = C*R*S, reduction = N*P*Q
// Block tile 64x64 (256x16 for a narrow N), reduction tile 16, 256 threads, each thread a 4x4 micro-tile
// read from shared memory as float4. When the output tiles alone would leave the GPU idle (backward-weight,
// small forward layers), the reduction is split over blockIdx.z into a scratch buffer that a second kernel sums
// in a fixed order: no atomics, bit-for-bit reproducible (also across GPUs: the split depends on the shape only).
// Known cost: backward-data with stride > 1 runs the zero taps too (no stride-phase decomposition yet).
// Index math: per-operand sizes fit in 31 bits (checked on the host); divisions by runtime sizes use a
// precomputed multiply-shift (FastDiv); memory offsets are formed in 64 bits.
#include <algorithm>
#include <climits>
#include <cstdint>
#include <string>

#include "kernels/conv.h"
#include "kernels/cuda/check.h"
#include "kernels/device.h"

namespace ganglion::cuda {
namespace {

constexpr int kBK = 16, kThreads = 256;
// Blocks wanted before the reduction is split: two waves on a 132-SM H100. A constant rather than a query, so
// the split (and so every bit of the result) does not depend on the GPU.
constexpr int64_t kTargetBlocks = 264;
constexpr int kPad = 4;  // shared-memory row padding (keeps float4 alignment, spreads k-major stores)

// Unsigned division by a runtime constant d >= 1 for numerators n < 2^31: q = (umulhi(n, mul) + n) >> shift.
struct FastDiv {
  uint32_t d = 1, mul = 0, shift = 0;
  FastDiv() = default;
  explicit FastDiv(int64_t divisor) : d(static_cast<uint32_t>(divisor)) {
    while (shift < 32 && (uint64_t{1} << shift) < d) ++shift;
    const uint64_t one = 1;
    mul = static_cast<uint32_t>(((one << 32) * ((one << shift) - d)) / d + 1);
  }
  __device__ __forceinline__ int div(int n) const {
    const uint32_t u = static_cast<uint32_t>(n);
    return static_cast<int>((__umulhi(u, mul) + u) >> shift);
  }
  // n = q*d + r
  __device__ __forceinline__ void divmod(int n, int& q, int& r) const {
    q = div(n);
    r = n - q * static_cast<int>(d);
  }
};

// ---- The three problems. Each gives: which operand index runs fastest across threads when loading (for
// coalescing), per-thread state for its fixed rows of A / columns of B, the gathers, and the store. The GEMM
// kernel only calls them with in-range m, n and k. ----

struct ForwardProblem {
  static constexpr bool kAFastM = true;   // x gathers are contiguous along q (m)
  static constexpr bool kBFastN = false;  // w[n][k] is contiguous along k
  const float* x;
  const float* w;
  float* y;
  int C, H, W, K, PQ, Kred;
  int stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
  FastDiv div_pq, div_q, div_rs, div_s;

  struct RowA {
    int64_t base;  // offset of x[n_img, 0, 0, 0]
    int h0, w0;
  };
  __device__ RowA row_a(int m) const {
    int n_img, pq, p, q;
    div_pq.divmod(m, n_img, pq);
    div_q.divmod(pq, p, q);
    return {static_cast<int64_t>(n_img) * C * H * W, p * stride_h - pad_h, q * stride_w - pad_w};
  }
  __device__ float a(const RowA& ra, int k) const {
    int c, rs, r, s;
    div_rs.divmod(k, c, rs);
    div_s.divmod(rs, r, s);
    const int h = ra.h0 + r * dil_h, ww = ra.w0 + s * dil_w;
    if (h < 0 || h >= H || ww < 0 || ww >= W) return 0.f;
    return __ldg(x + ra.base + (static_cast<int64_t>(c) * H + h) * W + ww);
  }
  using ColB = int64_t;  // offset of w[n, 0, 0, 0]
  __device__ ColB col_b(int n) const { return static_cast<int64_t>(n) * Kred; }
  __device__ float b(ColB cb, int k) const { return __ldg(w + cb + k); }
  __device__ void store(int m, int n, float v) const {
    int n_img, pq;
    div_pq.divmod(m, n_img, pq);
    y[(static_cast<int64_t>(n_img) * K + n) * PQ + pq] = v;
  }
};

struct BackwardDataProblem {
  static constexpr bool kAFastM = true;   // dy gathers are contiguous along w (m) when the stride is 1
  static constexpr bool kBFastN = false;  // w[k][n][r][s]: contiguous along (r, s) within k
  const float* dy;
  const float* w;
  float* dx;
  int C, HW, K, P, Q, RS;
  int pad_h, pad_w, dil_h, dil_w;
  FastDiv div_hw, div_w, div_rs, div_s, div_sh, div_sw;

  struct RowA {
    int64_t base;  // offset of dy[n_img, 0, 0, 0]
    int hp, wp;    // h + pad_h, w + pad_w
  };
  __device__ RowA row_a(int m) const {
    int n_img, hw, h, ww;
    div_hw.divmod(m, n_img, hw);
    div_w.divmod(hw, h, ww);
    return {static_cast<int64_t>(n_img) * K * P * Q, h + pad_h, ww + pad_w};
  }
  __device__ float a(const RowA& ra, int kk) const {
    int k, rs, r, s;
    div_rs.divmod(kk, k, rs);
    div_s.divmod(rs, r, s);
    const int th = ra.hp - r * dil_h, tw = ra.wp - s * dil_w;
    if (th < 0 || tw < 0) return 0.f;
    int p, ph, q, qw;
    div_sh.divmod(th, p, ph);
    div_sw.divmod(tw, q, qw);
    if (ph != 0 || qw != 0 || p >= P || q >= Q) return 0.f;
    return __ldg(dy + ra.base + (static_cast<int64_t>(k) * P + p) * Q + q);
  }
  using ColB = int;  // the input channel c
  __device__ ColB col_b(int n) const { return n; }
  __device__ float b(ColB c, int kk) const {
    int k, rs;
    div_rs.divmod(kk, k, rs);
    return __ldg(w + (static_cast<int64_t>(k) * C + c) * RS + rs);
  }
  __device__ void store(int m, int n, float v) const {
    int n_img, hw;
    div_hw.divmod(m, n_img, hw);
    dx[(static_cast<int64_t>(n_img) * C + n) * HW + hw] = v;
  }
};

struct BackwardWeightProblem {
  static constexpr bool kAFastM = false;  // dy[n_img, m, p, q] is contiguous along the reduction (p, q)
  static constexpr bool kBFastN = false;  // x gathers are contiguous along q, part of the reduction
  const float* x;
  const float* dy;
  float* dw;
  int C, H, W, K, PQ, CRS;
  int stride_h, stride_w;
  FastDiv div_pq, div_q, div_rs, div_s;
  int pad_h, pad_w, dil_h, dil_w;

  using RowA = int;  // the output channel k
  __device__ RowA row_a(int m) const { return m; }
  __device__ float a(RowA k, int j) const {
    int n_img, pq;
    div_pq.divmod(j, n_img, pq);
    return __ldg(dy + (static_cast<int64_t>(n_img) * K + k) * PQ + pq);
  }
  struct ColB {
    int64_t coff;  // offset of x[0, c, 0, 0]
    int roff, soff;
  };
  __device__ ColB col_b(int n) const {
    int c, rs, r, s;
    div_rs.divmod(n, c, rs);
    div_s.divmod(rs, r, s);
    return {static_cast<int64_t>(c) * H * W, r * dil_h - pad_h, s * dil_w - pad_w};
  }
  __device__ float b(const ColB& cb, int j) const {
    int n_img, pq, p, q;
    div_pq.divmod(j, n_img, pq);
    div_q.divmod(pq, p, q);
    const int h = p * stride_h + cb.roff, ww = q * stride_w + cb.soff;
    if (h < 0 || h >= H || ww < 0 || ww >= W) return 0.f;
    return __ldg(x + static_cast<int64_t>(n_img) * C * H * W + cb.coff + static_cast<int64_t>(h) * W + ww);
  }
  __device__ void store(int m, int n, float v) const { dw[static_cast<int64_t>(m) * CRS + n] = v; }
};

// ---- The GEMM kernel, block tile BM x BN (64x64, or 256x16 when the GEMM's N is narrow: C = 1 or 3 image
// channels). Thread (tx, ty) = (tid % (BM/4), tid / (BM/4)) owns C[m0 + 4tx + i][n0 + 4ty + j], i, j < 4.
// Loads per reduction tile: BK*BM elements of A (kLA per thread) and BK*BN of B (kLB per thread). A "fast m"
// operand is loaded at m = tid % BM, k = tid / BM + (256/BM)*i; otherwise at k = tid % BK,
// m = tid / BK + 16*i (B likewise with n). Either way a thread's rows/columns never change, so their decode is
// done once. blockIdx.z picks a slice [k_begin, k_end) of the reduction; with more than one slice the partial
// sums go to scratch[z][n][m] instead of through store(). ----

template <class Prob, int BM, int BN>
__global__ void __launch_bounds__(kThreads) igemm_kernel(Prob prob, int M, int N, int Kred, int k_chunk,
                                                         float* __restrict__ scratch) {
  static_assert((BM / 4) * (BN / 4) == kThreads && kThreads % BM == 0 && kThreads % BN == 0, "tile shape");
  constexpr int kLA = kBK * BM / kThreads, kLB = kBK * BN / kThreads;
  __shared__ __align__(16) float As[kBK][BM + kPad];
  __shared__ __align__(16) float Bs[kBK][BN + kPad];

  const int tid = threadIdx.x;
  const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
  const int k_begin = blockIdx.z * k_chunk;
  const int k_end = min(Kred, k_begin + k_chunk);

  constexpr int kARows = Prob::kAFastM ? 1 : kLA;
  constexpr int kBCols = Prob::kBFastN ? 1 : kLB;
  typename Prob::RowA ra[kARows];
  bool a_ok[kARows];
  typename Prob::ColB cb[kBCols];
  bool b_ok[kBCols];
#pragma unroll
  for (int i = 0; i < kARows; ++i) {
    const int m = m0 + (Prob::kAFastM ? tid % BM : tid / kBK + 16 * i);
    a_ok[i] = m < M;
    ra[i] = prob.row_a(a_ok[i] ? m : 0);
  }
#pragma unroll
  for (int j = 0; j < kBCols; ++j) {
    const int n = n0 + (Prob::kBFastN ? tid % BN : tid / kBK + 16 * j);
    b_ok[j] = n < N;
    cb[j] = prob.col_b(b_ok[j] ? n : 0);
  }

  float a_reg[kLA], b_reg[kLB];
  auto load_tile = [&](int k0) {
#pragma unroll
    for (int i = 0; i < kLA; ++i) {
      const int ai = Prob::kAFastM ? 0 : i;
      const int k = k0 + (Prob::kAFastM ? tid / BM + (kThreads / BM) * i : tid % kBK);
      a_reg[i] = (a_ok[ai] && k < k_end) ? prob.a(ra[ai], k) : 0.f;
    }
#pragma unroll
    for (int j = 0; j < kLB; ++j) {
      const int bj = Prob::kBFastN ? 0 : j;
      const int k = k0 + (Prob::kBFastN ? tid / BN + (kThreads / BN) * j : tid % kBK);
      b_reg[j] = (b_ok[bj] && k < k_end) ? prob.b(cb[bj], k) : 0.f;
    }
  };
  auto store_tile = [&]() {
#pragma unroll
    for (int i = 0; i < kLA; ++i) {
      if (Prob::kAFastM) {
        As[tid / BM + (kThreads / BM) * i][tid % BM] = a_reg[i];
      } else {
        As[tid % kBK][tid / kBK + 16 * i] = a_reg[i];
      }
    }
#pragma unroll
    for (int j = 0; j < kLB; ++j) {
      if (Prob::kBFastN) {
        Bs[tid / BN + (kThreads / BN) * j][tid % BN] = b_reg[j];
      } else {
        Bs[tid % kBK][tid / kBK + 16 * j] = b_reg[j];
      }
    }
  };

  const int tx = tid % (BM / 4), ty = tid / (BM / 4);
  float acc[4][4] = {};
  if (k_begin < k_end) load_tile(k_begin);
  for (int k0 = k_begin; k0 < k_end; k0 += kBK) {
    store_tile();
    __syncthreads();
    if (k0 + kBK < k_end) load_tile(k0 + kBK);  // prefetch the next tile while this one is multiplied
#pragma unroll
    for (int kk = 0; kk < kBK; ++kk) {
      const float4 av = *reinterpret_cast<const float4*>(&As[kk][4 * tx]);
      const float4 bv = *reinterpret_cast<const float4*>(&Bs[kk][4 * ty]);
      const float am[4] = {av.x, av.y, av.z, av.w};
      const float bn[4] = {bv.x, bv.y, bv.z, bv.w};
#pragma unroll
      for (int i = 0; i < 4; ++i) {
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(am[i], bn[j], acc[i][j]);
      }
    }
    __syncthreads();
  }

#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const int n = n0 + 4 * ty + j;
    if (n >= N) continue;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int m = m0 + 4 * tx + i;
      if (m >= M) continue;
      if (scratch != nullptr) {
        scratch[(static_cast<int64_t>(blockIdx.z) * N + n) * M + m] = acc[i][j];
      } else {
        prob.store(m, n, acc[i][j]);
      }
    }
  }
}

// Sums the split-reduction slices in slice order and stores through the problem. Index e = n*M + m.
template <class Prob>
__global__ void __launch_bounds__(256) split_sum_kernel(Prob prob, int M, int N, int splits,
                                                        const float* __restrict__ scratch) {
  const int64_t total = static_cast<int64_t>(M) * N;
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float sum = 0.f;
    for (int z = 0; z < splits; ++z) sum += scratch[z * total + e];
    prob.store(static_cast<int>(e % M), static_cast<int>(e / M), sum);
  }
}

void check_fits(const char* op, const char* what, int64_t v) {
  if (v < 0 || v > INT_MAX) {
    throw Error(std::string(op) + ": " + what + " = " + std::to_string(v) +
                " exceeds the native kernel's 31-bit index range");
  }
}

void check_shape(const char* op, const ConvShape& c) {
  if (c.N < 0 || c.C < 0 || c.H < 0 || c.W < 0 || c.K < 0 || c.R < 1 || c.S < 1 || c.P < 0 || c.Q < 0 ||
      c.stride_h < 1 || c.stride_w < 1 || c.pad_h < 0 || c.pad_w < 0 || c.dil_h < 1 || c.dil_w < 1) {
    throw Error(std::string(op) + ": invalid convolution shape");
  }
  check_fits(op, "N*C*H*W", c.N * c.C * c.H * c.W);
  check_fits(op, "N*K*P*Q", c.N * c.K * c.P * c.Q);
  check_fits(op, "K*C*R*S", c.K * c.C * c.R * c.S);
  // Gathered coordinates (p*stride + r*dil, h + pad) must stay inside int.
  check_fits(op, "input extent", c.P * c.stride_h + c.R * c.dil_h + c.H + c.pad_h);
  check_fits(op, "input extent", c.Q * c.stride_w + c.S * c.dil_w + c.W + c.pad_w);
}

// Runs C = A*B for the problem with block tile BM x BN: picks the split of the reduction, launches, and
// (split > 1) sums the slices.
template <class Prob, int BM, int BN>
void run_tiles(const char* op, Stream s, const Prob& prob, int64_t M, int64_t N, int64_t Kred) {
  const int64_t tiles_m = (M + BM - 1) / BM, tiles_n = (N + BN - 1) / BN;
  if (tiles_n > 65535) throw Error(std::string(op) + ": too many output tiles along N for the grid");
  const int64_t k_tiles = (Kred + kBK - 1) / kBK;
  // Split the reduction when the output tiles fill less than two waves, keeping >= 8 k-tiles per slice.
  int64_t splits = 1;
  if (tiles_m * tiles_n < kTargetBlocks) {
    splits = (kTargetBlocks + tiles_m * tiles_n - 1) / (tiles_m * tiles_n);
    splits = std::min<int64_t>(splits, std::max<int64_t>(k_tiles / 8, 1));
    splits = std::min<int64_t>(splits, 64);
  }
  const int64_t k_chunk = ((k_tiles + splits - 1) / splits) * kBK;
  if (k_chunk > 0) splits = (Kred + k_chunk - 1) / k_chunk;  // no empty slices
  if (splits < 1) splits = 1;

  cudaStream_t st = as_stream(s);
  float* scratch = nullptr;
  if (splits > 1) scratch = static_cast<float*>(device_alloc(static_cast<size_t>(splits * M * N) * sizeof(float)));
  const dim3 grid(static_cast<unsigned>(tiles_m), static_cast<unsigned>(tiles_n), static_cast<unsigned>(splits));
  igemm_kernel<Prob, BM, BN><<<grid, kThreads, 0, st>>>(prob, static_cast<int>(M), static_cast<int>(N),
                                                        static_cast<int>(Kred), static_cast<int>(k_chunk), scratch);
  GANGLION_LAUNCH_CHECK(op);
  if (splits > 1) {
    split_sum_kernel<Prob><<<grid_for(M * N), 256, 0, st>>>(prob, static_cast<int>(M), static_cast<int>(N),
                                                            static_cast<int>(splits), scratch);
    GANGLION_LAUNCH_CHECK(op);
    // The caching allocator is stream-ordered on the engine's one stream: the block is not handed to other
    // work before the kernels above have run.
    device_free(scratch);
  }
}

template <class Prob>
void run_gemm(const char* op, Stream s, const Prob& prob, int64_t M, int64_t N, int64_t Kred) {
  check_fits(op, "GEMM M", M);
  check_fits(op, "GEMM N", N);
  check_fits(op, "GEMM K", Kred);
  if (M == 0 || N == 0) return;
  // A narrow N (1 or 3 image channels in backward-data, a 1-channel head) would waste most of a 64-wide tile.
  if (N <= 16) {
    run_tiles<Prob, 256, 16>(op, s, prob, M, N, Kred);
  } else {
    run_tiles<Prob, 64, 64>(op, s, prob, M, N, Kred);
  }
}

}  // namespace

void conv2d_forward(Stream s, const ConvShape& c, const float* x, const float* w, float* y) {
  const char* op = "conv2d_forward (cuda)";
  check_shape(op, c);
  ForwardProblem p{};
  p.x = x, p.w = w, p.y = y;
  p.C = int(c.C), p.H = int(c.H), p.W = int(c.W), p.K = int(c.K), p.PQ = int(c.P * c.Q);
  p.Kred = int(c.C * c.R * c.S);
  p.stride_h = c.stride_h, p.stride_w = c.stride_w, p.pad_h = c.pad_h, p.pad_w = c.pad_w;
  p.dil_h = c.dil_h, p.dil_w = c.dil_w;
  p.div_pq = FastDiv(std::max<int64_t>(c.P * c.Q, 1)), p.div_q = FastDiv(std::max<int64_t>(c.Q, 1));
  p.div_rs = FastDiv(c.R * c.S), p.div_s = FastDiv(c.S);
  run_gemm(op, s, p, c.N * c.P * c.Q, c.K, c.C * c.R * c.S);
}

void conv2d_backward_data(Stream s, const ConvShape& c, const float* dy, const float* w, float* dx) {
  const char* op = "conv2d_backward_data (cuda)";
  check_shape(op, c);
  BackwardDataProblem p{};
  p.dy = dy, p.w = w, p.dx = dx;
  p.C = int(c.C), p.HW = int(c.H * c.W), p.K = int(c.K), p.P = int(c.P), p.Q = int(c.Q), p.RS = int(c.R * c.S);
  p.pad_h = c.pad_h, p.pad_w = c.pad_w, p.dil_h = c.dil_h, p.dil_w = c.dil_w;
  p.div_hw = FastDiv(std::max<int64_t>(c.H * c.W, 1)), p.div_w = FastDiv(std::max<int64_t>(c.W, 1));
  p.div_rs = FastDiv(c.R * c.S), p.div_s = FastDiv(c.S);
  p.div_sh = FastDiv(c.stride_h), p.div_sw = FastDiv(c.stride_w);
  run_gemm(op, s, p, c.N * c.H * c.W, c.C, c.K * c.R * c.S);
}

void conv2d_backward_weight(Stream s, const ConvShape& c, const float* x, const float* dy, float* dw) {
  const char* op = "conv2d_backward_weight (cuda)";
  check_shape(op, c);
  BackwardWeightProblem p{};
  p.x = x, p.dy = dy, p.dw = dw;
  p.C = int(c.C), p.H = int(c.H), p.W = int(c.W), p.K = int(c.K), p.PQ = int(c.P * c.Q);
  p.CRS = int(c.C * c.R * c.S);
  p.stride_h = c.stride_h, p.stride_w = c.stride_w, p.pad_h = c.pad_h, p.pad_w = c.pad_w;
  p.dil_h = c.dil_h, p.dil_w = c.dil_w;
  p.div_pq = FastDiv(std::max<int64_t>(c.P * c.Q, 1)), p.div_q = FastDiv(std::max<int64_t>(c.Q, 1));
  p.div_rs = FastDiv(c.R * c.S), p.div_s = FastDiv(c.S);
  run_gemm(op, s, p, c.K, c.C * c.R * c.S, c.N * c.P * c.Q);
}

}  // namespace ganglion::cuda
