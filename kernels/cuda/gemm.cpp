// kernels/cuda/gemm.cpp — CUDA twin of kernels/gemm.h through cuBLAS. Row-major C = A*B is column-major
// C^T = B^T * A^T, so the operands are swapped and cuBLAS sees the row-major buffers as their transposes. One
// handle, created on first use, pinned to FP32 math (no TF32) so that results match the CPU twin to ~1e-5.
#include "kernels/gemm.h"

#include <cublas_v2.h>

#include <algorithm>
#include <climits>
#include <mutex>

#include "kernels/cuda/check.h"

namespace ganglion::cuda {
namespace {

std::mutex g_mutex;  // guards the handle and its stream setting

cublasHandle_t handle() {
  static cublasHandle_t h = [] {
    cublasHandle_t created = nullptr;
    GANGLION_CUBLAS_CHECK(cublasCreate(&created), "gemm: cublasCreate");
    GANGLION_CUBLAS_CHECK(cublasSetMathMode(created, CUBLAS_DEFAULT_MATH), "gemm: cublasSetMathMode");
    GANGLION_CUBLAS_CHECK(cublasSetPointerMode(created, CUBLAS_POINTER_MODE_HOST), "gemm: cublasSetPointerMode");
    return created;
  }();
  return h;
}

int as_int(int64_t v, const char* what) {
  if (v < 0 || v > INT_MAX) throw Error(std::string("gemm: ") + what + " = " + std::to_string(v) + " out of range");
  return static_cast<int>(v);
}

}  // namespace

void gemm(Stream s, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K < 0) throw Error("gemm: K = " + std::to_string(K) + " is negative");
  // cuBLAS wants every leading dimension >= 1 even when an operand is empty (K == 0: C = beta*C).
  const int m = as_int(N, "N"), n = as_int(M, "M"), k = as_int(K, "K");
  const int ld_b = as_int(std::max<int64_t>(ldb, 1), "ldb"), ld_a = as_int(std::max<int64_t>(lda, 1), "lda");
  const int ld_c = as_int(ldc, "ldc");
  if (ld_c < m) throw Error("gemm: ldc = " + std::to_string(ldc) + " < N = " + std::to_string(N));
  const cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  std::lock_guard<std::mutex> lock(g_mutex);
  cublasHandle_t h = handle();
  GANGLION_CUBLAS_CHECK(cublasSetStream(h, as_stream(s)), "gemm: cublasSetStream");
  // Column-major view: C^T [N, M] = op(B)^T [N, K] * op(A)^T [K, M].
  GANGLION_CUBLAS_CHECK(cublasSgemm(h, op_b, op_a, m, n, k, &alpha, B, ld_b, A, ld_a, &beta, C, ld_c),
                        "gemm: cublasSgemm");
}

}  // namespace ganglion::cuda
