// benchmarks/kernels/lab_gpu.cpp — GPU timing, L2 flush, ceilings and device buffers for the kernel labs (see
// lab_gpu.h). Every CUDA and cuBLAS status is checked with the engine's macros (kernels/cuda/check.h).
#include "benchmarks/kernels/lab_gpu.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <limits>

#include "benchmarks/kernels/lab_util.h"
#include "kernels/cuda/check.h"
#include "kernels/device.h"

namespace ganglion::lab {

namespace {
cudaStream_t engine_stream() { return cuda::as_stream(cuda::stream()); }
}  // namespace

DeviceBuffer::DeviceBuffer(size_t count)
    : p_(static_cast<float*>(cuda::device_alloc(std::max<size_t>(count, 1) * sizeof(float)))), n_(count) {}

DeviceBuffer::DeviceBuffer(const std::vector<float>& host) : DeviceBuffer(host.size()) { upload(host); }

DeviceBuffer::~DeviceBuffer() {
  if (p_ != nullptr) cuda::device_free(p_);
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& o) noexcept : p_(o.p_), n_(o.n_) {
  o.p_ = nullptr;
  o.n_ = 0;
}

void DeviceBuffer::upload(const std::vector<float>& host) {
  if (host.size() != n_)
    throw Error("DeviceBuffer::upload: " + std::to_string(host.size()) + " values for a buffer of " +
                std::to_string(n_));
  if (n_ > 0) cuda::copy_h2d(p_, host.data(), n_ * sizeof(float));
}

std::vector<float> DeviceBuffer::download() const {
  std::vector<float> h(n_);
  if (n_ > 0) cuda::copy_d2h(h.data(), p_, n_ * sizeof(float));
  return h;
}

void DeviceBuffer::poison() { upload(std::vector<float>(n_, std::numeric_limits<float>::quiet_NaN())); }

namespace {

// The flush buffer: twice the L2 size, made once.
struct L2Flusher {
  void* buf = nullptr;
  size_t bytes = 0;
  int value = 0;
  L2Flusher() {
    int dev = 0, l2 = 0;
    GANGLION_CUDA_CHECK(cudaGetDevice(&dev), "lab: cudaGetDevice");
    GANGLION_CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev), "lab: L2 size");
    bytes = std::max<size_t>(2 * static_cast<size_t>(l2), 64u << 20);
    buf = cuda::device_alloc(bytes);
  }
  void flush(cudaStream_t s) {
    value ^= 1;  // alternate the byte written, so no layer can skip the work
    GANGLION_CUDA_CHECK(cudaMemsetAsync(buf, value, bytes, s), "lab: L2 flush");
  }
};

L2Flusher& flusher() {
  static L2Flusher f;
  return f;
}

struct Events {
  cudaEvent_t start = nullptr, stop = nullptr;
  Events() {
    GANGLION_CUDA_CHECK(cudaEventCreate(&start), "lab: cudaEventCreate");
    GANGLION_CUDA_CHECK(cudaEventCreate(&stop), "lab: cudaEventCreate");
  }
  ~Events() {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  }
  Events(const Events&) = delete;
  Events& operator=(const Events&) = delete;
};

}  // namespace

Timing time_gpu(const std::function<void()>& fn, int warmup, int reps) {
  cudaStream_t s = engine_stream();
  for (int i = 0; i < warmup; ++i) fn();
  GANGLION_CUDA_CHECK(cudaStreamSynchronize(s), "lab: warm-up");
  Events ev;
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    flusher().flush(s);
    GANGLION_CUDA_CHECK(cudaStreamSynchronize(s), "lab: flush");
    GANGLION_CUDA_CHECK(cudaEventRecord(ev.start, s), "lab: cudaEventRecord");
    fn();
    GANGLION_CUDA_CHECK(cudaEventRecord(ev.stop, s), "lab: cudaEventRecord");
    GANGLION_CUDA_CHECK(cudaEventSynchronize(ev.stop), "lab: timed run");
    float t = 0;
    GANGLION_CUDA_CHECK(cudaEventElapsedTime(&t, ev.start, ev.stop), "lab: cudaEventElapsedTime");
    ms.push_back(t);
  }
  GANGLION_LAUNCH_CHECK("lab: timed runs");
  Timing r;
  r.reps = reps;
  r.median_ms = median(ms);
  r.min_ms = *std::min_element(ms.begin(), ms.end());
  r.max_ms = *std::max_element(ms.begin(), ms.end());
  return r;
}

void* lab_cublas() {
  static cublasHandle_t h = [] {
    cublasHandle_t created = nullptr;
    GANGLION_CUBLAS_CHECK(cublasCreate(&created), "lab: cublasCreate");
    GANGLION_CUBLAS_CHECK(cublasSetPointerMode(created, CUBLAS_POINTER_MODE_HOST), "lab: cublasSetPointerMode");
    return created;
  }();
  GANGLION_CUBLAS_CHECK(cublasSetStream(h, engine_stream()), "lab: cublasSetStream");
  return h;
}

namespace {

// Median TFLOP/s of an n^3 column-major GEMM C = A*B with compute type `compute` on random operands.
double gemm_tflops(int n, cublasComputeType_t compute, int reps) {
  const size_t count = static_cast<size_t>(n) * n;
  DeviceBuffer a(uniform(count, 1)), b(uniform(count, 2)), c(count);
  auto h = static_cast<cublasHandle_t>(lab_cublas());
  const float one = 1.f, zero = 0.f;
  auto run = [&] {
    GANGLION_CUBLAS_CHECK(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a.get(), CUDA_R_32F, n, b.get(),
                                       CUDA_R_32F, n, &zero, c.get(), CUDA_R_32F, n, compute, CUBLAS_GEMM_DEFAULT),
                          "lab: ceiling cublasGemmEx");
  };
  const Timing t = time_gpu(run, 2, reps);
  return 2.0 * n * static_cast<double>(n) * n / (t.median_ms * 1e-3) * 1e-12;
}

}  // namespace

Ceilings measure_ceilings(int reps) {
  Ceilings c;
  constexpr int n = 8192;
  c.fp32_tflops = gemm_tflops(n, CUBLAS_COMPUTE_32F, reps);
  c.tf32_tflops = gemm_tflops(n, CUBLAS_COMPUTE_32F_FAST_TF32, reps);
  constexpr size_t bytes = size_t(1) << 30;
  {
    DeviceBuffer src(bytes / sizeof(float)), dst(bytes / sizeof(float));
    GANGLION_CUDA_CHECK(cudaMemsetAsync(src.get(), 0x3f, bytes, engine_stream()), "lab: ceiling memset");
    const Timing t = time_gpu(
        [&] {
          GANGLION_CUDA_CHECK(cudaMemcpyAsync(dst.get(), src.get(), bytes, cudaMemcpyDeviceToDevice, engine_stream()),
                              "lab: ceiling cudaMemcpyAsync");
        },
        2, reps);
    c.copy_gbps = 2.0 * bytes / (t.median_ms * 1e-3) * 1e-9;
  }
  c.notes = {
      "ceiling FP32: cublasGemmEx 8192^3, CUBLAS_COMPUTE_32F = " + fixed(c.fp32_tflops, 1) + " TFLOP/s",
      "ceiling TF32: cublasGemmEx 8192^3, CUBLAS_COMPUTE_32F_FAST_TF32 = " + fixed(c.tf32_tflops, 1) + " TFLOP/s",
      "ceiling copy: cudaMemcpyAsync d2d of 1 GiB, (read + write bytes) / time = " + fixed(c.copy_gbps, 0) + " GB/s",
  };
  return c;
}

std::string device_summary() {
  int dev = 0, runtime = 0, driver = 0;
  GANGLION_CUDA_CHECK(cudaGetDevice(&dev), "lab: cudaGetDevice");
  cudaDeviceProp p{};
  GANGLION_CUDA_CHECK(cudaGetDeviceProperties(&p, dev), "lab: cudaGetDeviceProperties");
  GANGLION_CUDA_CHECK(cudaRuntimeGetVersion(&runtime), "lab: cudaRuntimeGetVersion");
  GANGLION_CUDA_CHECK(cudaDriverGetVersion(&driver), "lab: cudaDriverGetVersion");
  auto ver = [](int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); };
  const size_t cudnn = cudnnGetVersion();
  return std::string(p.name) + ", sm_" + std::to_string(p.major) + std::to_string(p.minor) + ", " +
         std::to_string(p.multiProcessorCount) + " SMs, L2 " + std::to_string(p.l2CacheSize >> 20) + " MB, " +
         fixed(static_cast<double>(p.totalGlobalMem) / (1ull << 30), 1) + " GiB, CUDA runtime " + ver(runtime) +
         ", driver " + ver(driver) + ", cuDNN " + std::to_string(cudnn);
}

}  // namespace ganglion::lab
