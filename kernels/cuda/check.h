// kernels/cuda/check.h — error checks for every CUDA, cuBLAS and cuDNN call and kernel launch, naming the op,
// the file and the line. Included by the CUDA twins only.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "kernels/common.h"

namespace ganglion::cuda {

inline void check_cuda(cudaError_t e, const char* op, const char* file, int line) {
  if (e != cudaSuccess) {
    throw Error(std::string(op) + ": CUDA error " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ") at " +
                file + ":" + std::to_string(line));
  }
}

inline void check_cublas(cublasStatus_t e, const char* op, const char* file, int line) {
  if (e != CUBLAS_STATUS_SUCCESS) {
    throw Error(std::string(op) + ": cuBLAS error " + std::to_string(static_cast<int>(e)) + " at " + file + ":" +
                std::to_string(line));
  }
}

inline cudaStream_t as_stream(Stream s) { return static_cast<cudaStream_t>(s); }

// Grid size for a grid-stride loop over n elements.
inline unsigned grid_for(int64_t n, int threads = 256, int64_t max_blocks = 65535 * 8) {
  int64_t b = (n + threads - 1) / threads;
  if (b < 1) b = 1;
  if (b > max_blocks) b = max_blocks;
  return static_cast<unsigned>(b);
}

}  // namespace ganglion::cuda

#define GANGLION_CUDA_CHECK(call, op) ::ganglion::cuda::check_cuda((call), (op), __FILE__, __LINE__)
#define GANGLION_CUBLAS_CHECK(call, op) ::ganglion::cuda::check_cublas((call), (op), __FILE__, __LINE__)
// After every launch: reports launch-configuration errors at once, naming the op.
#define GANGLION_LAUNCH_CHECK(op) ::ganglion::cuda::check_cuda(cudaGetLastError(), (op), __FILE__, __LINE__)
