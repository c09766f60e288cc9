// benchmarks/kernels/conv_cudnn_find.cpp — cuDNN's search for the fastest convolution algorithm (see
// conv_cudnn_find.h). Uses the legacy cuDNN 9 API, as kernels/cuda/cudnn_conv.cpp does, and its handle
// (kernels/cuda/cudnn_util.h); every status is checked.
#include "benchmarks/kernels/conv_cudnn_find.h"

#include <cudnn.h>

#include <algorithm>

#include "kernels/cuda/check.h"
#include "kernels/cuda/cudnn_util.h"
#include "kernels/device.h"

// The *AlgoPerf_t structs of the legacy API are marked deprecated in cuDNN 9; they are still the way to search.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace ganglion::lab {

namespace {

constexpr const char* kFwdNames[] = {"IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT", "FFT", "FFT_TILING",
                                     "WINOGRAD",      "WINOGRAD_NONFUSED"};
constexpr const char* kBwdDataNames[] = {"ALGO_0", "ALGO_1", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
constexpr const char* kBwdFilterNames[] = {"ALGO_0",    "ALGO_1", "FFT", "ALGO_3", "WINOGRAD", "WINOGRAD_NONFUSED",
                                           "FFT_TILING"};

template <size_t N>
std::string name_of(const char* const (&names)[N], int algo) {
  return algo >= 0 && algo < static_cast<int>(N) ? names[algo] : "algo " + std::to_string(algo);
}

std::string math_name(cudnnMathType_t m) {
  switch (m) {
    case CUDNN_DEFAULT_MATH:
      return "default";
    case CUDNN_TENSOR_OP_MATH:
      return "tensor-op";
    case CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION:
      return "tensor-op-allow-conversion";
    case CUDNN_FMA_MATH:
      return "fma";
  }
  return "math " + std::to_string(static_cast<int>(m));
}

// Workspace the search may use: enough for every algorithm cuDNN offers on these shapes, a quarter of free memory
// at most.
size_t search_workspace() {
  size_t free_b = 0, total = 0;
  GANGLION_CUDA_CHECK(cudaMemGetInfo(&free_b, &total), "cudnn find: cudaMemGetInfo");
  return std::min<size_t>(size_t(1) << 30, free_b / 4);
}

struct Workspace {
  void* p = nullptr;
  explicit Workspace(size_t bytes) : p(bytes > 0 ? cuda::device_alloc(bytes) : nullptr) {}
  ~Workspace() {
    if (p != nullptr) cuda::device_free(p);
  }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
};

}  // namespace

struct CudnnFound::Descriptors {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  ~Descriptors() {
    if (x) cudnnDestroyTensorDescriptor(x);
    if (y) cudnnDestroyTensorDescriptor(y);
    if (w) cudnnDestroyFilterDescriptor(w);
    if (conv) cudnnDestroyConvolutionDescriptor(conv);
  }
};

CudnnFound::CudnnFound(const ConvShape& c, ConvDir d, CudnnMath m, const float* a, const float* b, float* out)
    : desc_(std::make_unique<Descriptors>()), dir_(d) {
  const char* op = "cudnn find";
  auto i32 = [](int64_t v) { return static_cast<int>(v); };
  Descriptors& ds = *desc_;
  GANGLION_CUDNN_CHECK(cudnnCreateTensorDescriptor(&ds.x), op);
  GANGLION_CUDNN_CHECK(cudnnCreateTensorDescriptor(&ds.y), op);
  GANGLION_CUDNN_CHECK(cudnnCreateFilterDescriptor(&ds.w), op);
  GANGLION_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&ds.conv), op);
  GANGLION_CUDNN_CHECK(
      cudnnSetTensor4dDescriptor(ds.x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, i32(c.N), i32(c.C), i32(c.H), i32(c.W)),
      op);
  GANGLION_CUDNN_CHECK(
      cudnnSetTensor4dDescriptor(ds.y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, i32(c.N), i32(c.K), i32(c.P), i32(c.Q)),
      op);
  GANGLION_CUDNN_CHECK(
      cudnnSetFilter4dDescriptor(ds.w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, i32(c.K), i32(c.C), i32(c.R), i32(c.S)),
      op);
  GANGLION_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(ds.conv, c.pad_h, c.pad_w, c.stride_h, c.stride_w, c.dil_h,
                                                       c.dil_w, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                       op);
  GANGLION_CUDNN_CHECK(cudnnSetConvolutionMathType(ds.conv, m == CudnnMath::Fma ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH),
                       op);
  int n = 0, k = 0, p = 0, q = 0;
  GANGLION_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(ds.conv, ds.x, ds.w, &n, &k, &p, &q), op);
  if (p != c.P || q != c.Q) {
    why_ = "a plain cuDNN descriptor gives output " + std::to_string(p) + "x" + std::to_string(q) +
           ", the layer needs " + std::to_string(c.P) + "x" + std::to_string(c.Q);
    return;
  }
  cudnnHandle_t h = cudnn::detail::handle(cuda::stream());
  const size_t ws_bytes = search_workspace();
  Workspace ws(ws_bytes);
  int found = 0;
  // Each search returns every algorithm ranked by time; take the fastest that ran.
  auto take = [&](const auto* perf, const auto& names) {
    for (int i = 0; i < found; ++i) {
      if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
      algo_ = static_cast<int>(perf[i].algo);
      workspace_ = perf[i].memory;
      math_name_ = math_name(perf[i].mathType);
      algo_name_ = name_of(names, algo_);
      ok_ = true;
      return;
    }
    why_ = "cuDNN found no algorithm that runs";
  };
  switch (d) {
    case ConvDir::Forward: {
      cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
      GANGLION_CUDNN_CHECK(
          cudnnFindConvolutionForwardAlgorithmEx(h, ds.x, a, ds.w, b, ds.conv, ds.y, out,
                                                 CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found, perf, ws.p, ws_bytes),
          op);
      take(perf, kFwdNames);
      break;
    }
    case ConvDir::BackwardData: {
      cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
      GANGLION_CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(h, ds.w, b, ds.y, a, ds.conv, ds.x, out,
                                                                       CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &found,
                                                                       perf, ws.p, ws_bytes),
                           op);
      take(perf, kBwdDataNames);
      break;
    }
    case ConvDir::BackwardWeight: {
      cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
      GANGLION_CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(h, ds.x, a, ds.y, b, ds.conv, ds.w, out,
                                                                         CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
                                                                         &found, perf, ws.p, ws_bytes),
                           op);
      take(perf, kBwdFilterNames);
      break;
    }
  }
}

CudnnFound::~CudnnFound() = default;

void CudnnFound::run(const float* a, const float* b, float* out) {
  const char* op = "cudnn find: run";
  if (!ok_) throw Error(std::string(op) + ": no algorithm (" + why_ + ")");
  cudnnHandle_t h = cudnn::detail::handle(cuda::stream());
  Workspace ws(workspace_);
  const float one = 1.f, zero = 0.f;
  const Descriptors& ds = *desc_;
  switch (dir_) {
    case ConvDir::Forward:
      GANGLION_CUDNN_CHECK(
          cudnnConvolutionForward(h, &one, ds.x, a, ds.w, b, ds.conv, static_cast<cudnnConvolutionFwdAlgo_t>(algo_),
                                  ws.p, workspace_, &zero, ds.y, out),
          op);
      break;
    case ConvDir::BackwardData:
      GANGLION_CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, ds.w, b, ds.y, a, ds.conv,
                                                        static_cast<cudnnConvolutionBwdDataAlgo_t>(algo_), ws.p,
                                                        workspace_, &zero, ds.x, out),
                           op);
      break;
    case ConvDir::BackwardWeight:
      GANGLION_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &one, ds.x, a, ds.y, b, ds.conv,
                                                          static_cast<cudnnConvolutionBwdFilterAlgo_t>(algo_), ws.p,
                                                          workspace_, &zero, ds.w, out),
                           op);
      break;
  }
}

}  // namespace ganglion::lab
