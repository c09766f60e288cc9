// kernels/gemm.h — general matrix multiply, row-major. CPU twin through Eigen (kernels/cpu/gemm.cpp), CUDA twin
// through cuBLAS (kernels/cuda/gemm.cpp).
#pragma once
#include "kernels/common.h"

namespace ganglion {

// Row-major: C[M,N] = alpha * op(A) * op(B) + beta * C, where op(A) is [M,K] (A stored [K,M] when trans_a,
// leading dimension lda), op(B) is [K,N] (B stored [N,K] when trans_b). beta == 0 overwrites C (C may hold
// garbage, even NaN); otherwise accumulates.
#define GANGLION_GEMM_DECLS                                                                              \
  void gemm(Stream s, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, \
            int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

namespace cpu {
GANGLION_GEMM_DECLS
}
namespace cuda {
GANGLION_GEMM_DECLS
}

}  // namespace ganglion
