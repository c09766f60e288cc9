// benchmarks/kernels/lab_gpu.h — the GPU side every kernel lab shares (CUDA builds only): device buffers from
// the engine's caching allocator, L2-flushed CUDA-event timing on the engine's stream, the measured ceilings
// (FP32 and TF32 GEMM rate, device-to-device copy bandwidth), a cuBLAS handle for the labs, and the device's
// description. No CUDA header is needed to use it.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace ganglion::lab {

// A float buffer on the device (the engine's caching allocator), freed at scope exit.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t count);
  explicit DeviceBuffer(const std::vector<float>& host);
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept;

  float* get() const { return p_; }
  size_t size() const { return n_; }
  void upload(const std::vector<float>& host);
  std::vector<float> download() const;  // synchronises
  void poison();                        // fills with NaN, so that an unwritten element fails validation

 private:
  float* p_ = nullptr;
  size_t n_ = 0;
};

struct Timing {
  double median_ms = 0, min_ms = 0, max_ms = 0;
  int reps = 0;
};

// Runs fn `warmup` times, then `reps` times each timed by CUDA events on the engine's stream: before each timed
// run the L2 cache is flushed (a memset over twice its size) and the stream drained, so every run starts cold
// and host-side launch work inside fn counts.
Timing time_gpu(const std::function<void()>& fn, int warmup, int reps);

struct Ceilings {
  double fp32_tflops = 0;          // cuBLAS GEMM, CUBLAS_COMPUTE_32F (strict FP32, CUDA cores)
  double tf32_tflops = 0;          // the same GEMM with CUBLAS_COMPUTE_32F_FAST_TF32 (TF32 tensor cores)
  double copy_gbps = 0;            // cudaMemcpyAsync device to device, (bytes read + bytes written) / time
  std::vector<std::string> notes;  // how each was measured, for the report
};
// Measures the three ceilings (median of `reps` runs each): an 8192^3 GEMM and a 1 GiB copy.
Ceilings measure_ceilings(int reps);

// "NVIDIA H100 80GB HBM3, 132 SMs, L2 50 MB, 79.1 GiB, CUDA runtime 13.0, driver 13.0, cuDNN 9.x".
std::string device_summary();

// The labs' cuBLAS handle (a cublasHandle_t), created on first use and bound to the engine's stream.
void* lab_cublas();

}  // namespace ganglion::lab
