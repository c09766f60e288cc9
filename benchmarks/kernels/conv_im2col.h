// benchmarks/kernels/conv_im2col.h — the conv lab's simplest GPU baseline (CUDA builds only): im2col, written
// here, plus one cuBLAS GEMM per direction (batched over samples where the layout needs it), in strict FP32
// (CUBLAS_COMPUTE_32F, what cublasSgemm computes) or TF32 tensor cores (CUBLAS_COMPUTE_32F_FAST_TF32).
//   forward:         cols[n] = im2col(x[n]) [CRS, PQ];  y[n] = W [K, CRS] * cols[n]          (batched GEMM)
//   backward-data:   cols[n] = W^T * dy[n];             dx = col2im(cols) (a gather, no atomics)
//   backward-weight: cols = im2col(x) as [CRS, N*PQ];   dy regrouped to [K, N*PQ];  dW = dy' * cols^T
#pragma once
#include "benchmarks/kernels/lab_gpu.h"
#include "kernels/conv.h"

namespace ganglion::lab {

enum class GemmMath { Fp32, Tf32 };

class Im2colConv {
 public:
  explicit Im2colConv(const ConvShape& c);  // allocates the column buffer and the regrouped dy
  void forward(const float* x, const float* w, float* y, GemmMath m);
  void backward_data(const float* dy, const float* w, float* dx, GemmMath m);
  void backward_weight(const float* x, const float* dy, float* dw, GemmMath m);

 private:
  ConvShape c_;
  DeviceBuffer cols_, dy_grouped_;
};

}  // namespace ganglion::lab
