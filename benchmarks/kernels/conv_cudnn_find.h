// benchmarks/kernels/conv_cudnn_find.h — cuDNN's own fastest algorithm for one convolution shape and direction
// (CUDA builds only): cudnnFind*AlgorithmEx runs every algorithm on the lab's buffers and ranks them; the lab then
// times the winner its own way. Math: Default lets cuDNN use TF32 tensor cores (what PyTorch does by default);
// Fma is strict FP32, the math our oracle ganglion::cudnn::conv2d_* is pinned to.
#pragma once
#include <memory>
#include <string>

#include "benchmarks/kernels/conv_reference.h"
#include "kernels/conv.h"

namespace ganglion::lab {

enum class CudnnMath { Default, Fma };

class CudnnFound {
 public:
  // Runs the search on (a, b) -> out (out is overwritten). Does not throw for a shape cuDNN cannot take
  // (ok() false, why() says so); throws Error on a failed CUDA/cuDNN call.
  CudnnFound(const ConvShape& c, ConvDir d, CudnnMath m, const float* a, const float* b, float* out);
  ~CudnnFound();
  CudnnFound(const CudnnFound&) = delete;
  CudnnFound& operator=(const CudnnFound&) = delete;

  bool ok() const { return ok_; }
  const std::string& why() const { return why_; }
  // "IMPLICIT_PRECOMP_GEMM math=tensor-op" — the algorithm and the math type cuDNN reported for it.
  std::string algorithm() const { return algo_name_ + " math=" + math_name_; }
  void run(const float* a, const float* b, float* out);  // the found algorithm on new operands

 private:
  struct Descriptors;
  std::unique_ptr<Descriptors> desc_;
  ConvDir dir_;
  int algo_ = 0;
  size_t workspace_ = 0;
  bool ok_ = false;
  std::string algo_name_, math_name_, why_;
};

}  // namespace ganglion::lab
