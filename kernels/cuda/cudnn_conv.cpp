// kernels/cuda/cudnn_conv.cpp — the cuDNN twin of kernels/conv.h (legacy cuDNN 9 API): forward, backward-data
// and backward-filter with CUDNN_CROSS_CORRELATION in strict FP32 (CUDNN_FMA_MATH: no TF32), so that it can
// serve as the oracle for the native kernels. Also home of the cuDNN handle and error check that
// cudnn_batchnorm.cpp shares (declared again there, in namespace ganglion::cudnn::detail).
//
// Plans (descriptors and the algorithm of each direction, chosen by cudnnGet*Algorithm_v7 among FMA algorithms,
// deterministic ones first) are cached per shape. Workspace comes from the engine's caching allocator.
//
// Consistent dims: cuDNN requires P = out(H) exactly, where out(H) = (H + 2*pad - dil*(R-1) - 1)/stride + 1.
// A transposed convolution may hand us an H that maps onto P but is larger (output_padding >= stride, e.g. with
// dilation) or, in principle, smaller. We then run cuDNN on a consistent layout: Hc = max(H, Hmin) with
// Hmin = (P-1)*stride - 2*pad + dil*(R-1) + 1, Pc = out(Hc) >= P. Inputs are embedded top-left into zero-filled
// buffers of the larger size (zero rows of x are what the padding would read, zero rows of dy contribute
// nothing), and outputs computed on the larger size are cut back to the top-left block. Both moves are
// cudnnTransformTensor copies between a packed and a strided descriptor. This keeps the cuDNN path independent of
// the native kernel, so it stays a real oracle for those shapes too.
#include <cudnn.h>

#include <array>
#include <climits>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "kernels/conv.h"
#include "kernels/cuda/cudnn_util.h"
#include "kernels/cuda/check.h"
#include "kernels/device.h"

namespace ganglion::cudnn {
namespace detail {

void check(cudnnStatus_t st, const char* op, const char* file, int line) {
  if (st != CUDNN_STATUS_SUCCESS) {
    throw Error(std::string(op) + ": cuDNN error " + cudnnGetErrorString(st) + " at " + file + ":" +
                std::to_string(line));
  }
}

// The process's cuDNN handle, created on first use and bound to stream `s` on every call. The engine drives
// the GPU from one thread on one stream; the mutex only guards creation.
cudnnHandle_t handle(Stream s) {
  static std::mutex mu;
  static cudnnHandle_t h = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (h == nullptr) check(cudnnCreate(&h), "cudnnCreate", __FILE__, __LINE__);
  }
  check(cudnnSetStream(h, cuda::as_stream(s)), "cudnnSetStream", __FILE__, __LINE__);
  return h;
}

}  // namespace detail


namespace {

// A device buffer from the caching allocator, freed (stream-ordered) at scope exit.
struct Buffer {
  void* p = nullptr;
  explicit Buffer(size_t bytes) : p(bytes > 0 ? cuda::device_alloc(bytes) : nullptr) {}
  ~Buffer() {
    if (p != nullptr) cuda::device_free(p);
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  float* f() const { return static_cast<float*>(p); }
};

int to_int(const char* op, int64_t v) {
  if (v < 0 || v > INT_MAX) throw Error(std::string(op) + ": size " + std::to_string(v) + " too large for cuDNN");
  return static_cast<int>(v);
}

struct TensorDesc {
  cudnnTensorDescriptor_t d = nullptr;
  TensorDesc() { GANGLION_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d), "cudnnCreateTensorDescriptor"); }
  ~TensorDesc() { cudnnDestroyTensorDescriptor(d); }
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
  // [n, c, h, w] stored with row pitch w2 and plane h2*w2 (packed when h2 == h and w2 == w).
  void set(const char* op, int64_t n, int64_t c, int64_t h, int64_t w, int64_t h2, int64_t w2) {
    GANGLION_CUDNN_CHECK(cudnnSetTensor4dDescriptorEx(d, CUDNN_DATA_FLOAT, to_int(op, n), to_int(op, c),
                                                      to_int(op, h), to_int(op, w), to_int(op, c * h2 * w2),
                                                      to_int(op, h2 * w2), to_int(op, w2), 1),
                         op);
  }
};

// Copies the top-left [n, c, h, w] block between a packed tensor and one of spatial size h2 x w2 (h2 >= h,
// w2 >= w). to_big: packed src -> big dst (zero-filled first); otherwise big src -> packed dst.
void move_block(const char* op, cudnnHandle_t h, Stream s, bool to_big, const float* src, float* dst, int64_t n,
                int64_t c, int64_t hh, int64_t ww, int64_t h2, int64_t w2) {
  TensorDesc packed, big;
  packed.set(op, n, c, hh, ww, hh, ww);
  big.set(op, n, c, hh, ww, h2, w2);
  if (to_big) {
    GANGLION_CUDA_CHECK(cudaMemsetAsync(dst, 0, static_cast<size_t>(n * c * h2 * w2) * sizeof(float),
                                        cuda::as_stream(s)),
                        op);
  }
  const float one = 1.f, zero = 0.f;
  GANGLION_CUDNN_CHECK(cudnnTransformTensor(h, &one, to_big ? packed.d : big.d, src, &zero,
                                            to_big ? big.d : packed.d, dst),
                       op);
}

int64_t out_size(int64_t in, int64_t pad, int64_t dil, int64_t k, int64_t stride) {
  return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1;
}

// Descriptors and algorithms for one shape, on the consistent sizes Hc, Wc, Pc, Qc.
struct Plan {
  int64_t Hc = 0, Wc = 0, Pc = 0, Qc = 0;
  TensorDesc x, y;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  bool have_fwd = false, have_bwd_data = false, have_bwd_filter = false;
  cudnnConvolutionFwdAlgo_t fwd_algo{};
  cudnnConvolutionBwdDataAlgo_t bwd_data_algo{};
  cudnnConvolutionBwdFilterAlgo_t bwd_filter_algo{};
  size_t fwd_ws = 0, bwd_data_ws = 0, bwd_filter_ws = 0;

  Plan(const char* op, const ConvShape& c) {
    Hc = std::max<int64_t>(c.H, (c.P - 1) * c.stride_h - 2 * c.pad_h + c.dil_h * (c.R - 1) + 1);
    Wc = std::max<int64_t>(c.W, (c.Q - 1) * c.stride_w - 2 * c.pad_w + c.dil_w * (c.S - 1) + 1);
    Pc = out_size(Hc, c.pad_h, c.dil_h, c.R, c.stride_h);
    Qc = out_size(Wc, c.pad_w, c.dil_w, c.S, c.stride_w);
    x.set(op, c.N, c.C, Hc, Wc, Hc, Wc);
    y.set(op, c.N, c.K, Pc, Qc, Pc, Qc);
    GANGLION_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w), op);
    GANGLION_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, to_int(op, c.K),
                                                    to_int(op, c.C), to_int(op, c.R), to_int(op, c.S)),
                         op);
    GANGLION_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv), op);
    GANGLION_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv, c.pad_h, c.pad_w, c.stride_h, c.stride_w, c.dil_h,
                                                         c.dil_w, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                         op);
    // Strict FP32: CUDNN_DEFAULT_MATH lets cuDNN use TF32 tensor cores on Ampere and later.
    GANGLION_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, CUDNN_FMA_MATH), op);
    int n = 0, k = 0, p = 0, q = 0;
    GANGLION_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(conv, x.d, w, &n, &k, &p, &q), op);
    if (n != c.N || k != c.K || p != Pc || q != Qc) {
      throw Error(std::string(op) + ": cuDNN output dims " + std::to_string(p) + "x" + std::to_string(q) +
                  " differ from the expected " + std::to_string(Pc) + "x" + std::to_string(Qc));
    }
  }
  ~Plan() {
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyConvolutionDescriptor(conv);
  }
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;
};

// From cuDNN's heuristic ranking, the best usable FMA (non-tensor-core) algorithm, deterministic ones first.
template <class Perf>
Perf pick(const char* op, const Perf* perf, int n) {
  for (int pass = 0; pass < 2; ++pass) {
    for (int i = 0; i < n; ++i) {
      const bool fma = perf[i].mathType == CUDNN_DEFAULT_MATH || perf[i].mathType == CUDNN_FMA_MATH;
      const bool det = perf[i].determinism == CUDNN_DETERMINISTIC;
      if (perf[i].status == CUDNN_STATUS_SUCCESS && fma && (det || pass == 1)) return perf[i];
    }
  }
  throw Error(std::string(op) + ": cuDNN offers no FP32 (FMA) algorithm for this shape");
}

Plan& plan_for(const char* op, const ConvShape& c) {
  using Key = std::array<int64_t, 15>;
  static std::mutex mu;
  static std::map<Key, std::unique_ptr<Plan>> cache;
  const Key key{c.N,        c.C,        c.H,     c.W,     c.K,     c.R,     c.S,    c.P,
                c.Q,        c.stride_h, c.stride_w, c.pad_h, c.pad_w, c.dil_h, c.dil_w};
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, std::make_unique<Plan>(op, c)).first;
  return *it->second;
}

void check_shape(const char* op, const ConvShape& c) {
  if (c.N < 0 || c.C < 0 || c.H < 0 || c.W < 0 || c.K < 0 || c.R < 1 || c.S < 1 || c.P < 0 || c.Q < 0 ||
      c.stride_h < 1 || c.stride_w < 1 || c.pad_h < 0 || c.pad_w < 0 || c.dil_h < 1 || c.dil_w < 1) {
    throw Error(std::string(op) + ": invalid convolution shape");
  }
}

void zero(const char* op, Stream s, float* p, int64_t count) {
  GANGLION_CUDA_CHECK(cudaMemsetAsync(p, 0, static_cast<size_t>(count) * sizeof(float), cuda::as_stream(s)), op);
}

}  // namespace

void conv2d_forward(Stream s, const ConvShape& c, const float* x, const float* w, float* y) {
  const char* op = "conv2d_forward (cudnn)";
  check_shape(op, c);
  if (c.N * c.K * c.P * c.Q == 0) return;
  if (c.C * c.H * c.W == 0) return zero(op, s, y, c.N * c.K * c.P * c.Q);
  cudnnHandle_t h = detail::handle(s);
  Plan& pl = plan_for(op, c);
  if (!pl.have_fwd) {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int n = 0;
    GANGLION_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, pl.x.d, pl.w, pl.conv, pl.y.d,
                                                                CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf),
                         op);
    pl.fwd_algo = pick(op, perf, n).algo;
    GANGLION_CUDNN_CHECK(
        cudnnGetConvolutionForwardWorkspaceSize(h, pl.x.d, pl.w, pl.conv, pl.y.d, pl.fwd_algo, &pl.fwd_ws), op);
    pl.have_fwd = true;
  }
  const bool big_x = pl.Hc != c.H || pl.Wc != c.W, big_y = pl.Pc != c.P || pl.Qc != c.Q;
  Buffer xb(big_x ? static_cast<size_t>(c.N * c.C * pl.Hc * pl.Wc) * sizeof(float) : 0);
  Buffer yb(big_y ? static_cast<size_t>(c.N * c.K * pl.Pc * pl.Qc) * sizeof(float) : 0);
  if (big_x) move_block(op, h, s, true, x, xb.f(), c.N, c.C, c.H, c.W, pl.Hc, pl.Wc);
  Buffer ws(pl.fwd_ws);
  const float one = 1.f, zero_f = 0.f;
  GANGLION_CUDNN_CHECK(cudnnConvolutionForward(h, &one, pl.x.d, big_x ? xb.f() : x, pl.w, w, pl.conv, pl.fwd_algo,
                                               ws.p, pl.fwd_ws, &zero_f, pl.y.d, big_y ? yb.f() : y),
                       op);
  if (big_y) move_block(op, h, s, false, yb.f(), y, c.N, c.K, c.P, c.Q, pl.Pc, pl.Qc);
}

void conv2d_backward_data(Stream s, const ConvShape& c, const float* dy, const float* w, float* dx) {
  const char* op = "conv2d_backward_data (cudnn)";
  check_shape(op, c);
  if (c.N * c.C * c.H * c.W == 0) return;
  if (c.K * c.P * c.Q == 0) return zero(op, s, dx, c.N * c.C * c.H * c.W);
  cudnnHandle_t h = detail::handle(s);
  Plan& pl = plan_for(op, c);
  if (!pl.have_bwd_data) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int n = 0;
    GANGLION_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, pl.w, pl.y.d, pl.conv, pl.x.d,
                                                                     CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, perf),
                         op);
    pl.bwd_data_algo = pick(op, perf, n).algo;
    GANGLION_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(h, pl.w, pl.y.d, pl.conv, pl.x.d,
                                                                      pl.bwd_data_algo, &pl.bwd_data_ws),
                         op);
    pl.have_bwd_data = true;
  }
  const bool big_x = pl.Hc != c.H || pl.Wc != c.W, big_y = pl.Pc != c.P || pl.Qc != c.Q;
  Buffer dxb(big_x ? static_cast<size_t>(c.N * c.C * pl.Hc * pl.Wc) * sizeof(float) : 0);
  Buffer dyb(big_y ? static_cast<size_t>(c.N * c.K * pl.Pc * pl.Qc) * sizeof(float) : 0);
  if (big_y) move_block(op, h, s, true, dy, dyb.f(), c.N, c.K, c.P, c.Q, pl.Pc, pl.Qc);
  Buffer ws(pl.bwd_data_ws);
  const float one = 1.f, zero_f = 0.f;
  GANGLION_CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, pl.w, w, pl.y.d, big_y ? dyb.f() : dy, pl.conv,
                                                    pl.bwd_data_algo, ws.p, pl.bwd_data_ws, &zero_f, pl.x.d,
                                                    big_x ? dxb.f() : dx),
                       op);
  if (big_x) move_block(op, h, s, false, dxb.f(), dx, c.N, c.C, c.H, c.W, pl.Hc, pl.Wc);
}

void conv2d_backward_weight(Stream s, const ConvShape& c, const float* x, const float* dy, float* dw) {
  const char* op = "conv2d_backward_weight (cudnn)";
  check_shape(op, c);
  if (c.K * c.C * c.R * c.S == 0) return;
  if (c.N * c.P * c.Q * c.H * c.W == 0) return zero(op, s, dw, c.K * c.C * c.R * c.S);
  cudnnHandle_t h = detail::handle(s);
  Plan& pl = plan_for(op, c);
  if (!pl.have_bwd_filter) {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int n = 0;
    GANGLION_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
                             h, pl.x.d, pl.y.d, pl.conv, pl.w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf),
                         op);
    pl.bwd_filter_algo = pick(op, perf, n).algo;
    GANGLION_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, pl.x.d, pl.y.d, pl.conv, pl.w,
                                                                        pl.bwd_filter_algo, &pl.bwd_filter_ws),
                         op);
    pl.have_bwd_filter = true;
  }
  const bool big_x = pl.Hc != c.H || pl.Wc != c.W, big_y = pl.Pc != c.P || pl.Qc != c.Q;
  Buffer xb(big_x ? static_cast<size_t>(c.N * c.C * pl.Hc * pl.Wc) * sizeof(float) : 0);
  Buffer dyb(big_y ? static_cast<size_t>(c.N * c.K * pl.Pc * pl.Qc) * sizeof(float) : 0);
  if (big_x) move_block(op, h, s, true, x, xb.f(), c.N, c.C, c.H, c.W, pl.Hc, pl.Wc);
  if (big_y) move_block(op, h, s, true, dy, dyb.f(), c.N, c.K, c.P, c.Q, pl.Pc, pl.Qc);
  Buffer ws(pl.bwd_filter_ws);
  const float one = 1.f, zero_f = 0.f;
  GANGLION_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &one, pl.x.d, big_x ? xb.f() : x, pl.y.d,
                                                      big_y ? dyb.f() : dy, pl.conv, pl.bwd_filter_algo, ws.p,
                                                      pl.bwd_filter_ws, &zero_f, pl.w, dw),
                       op);
}

}  // namespace ganglion::cudnn
