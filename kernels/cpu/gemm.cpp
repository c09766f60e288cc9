// kernels/cpu/gemm.cpp — CPU twin of kernels/gemm.h: row-major GEMM through Eigen (kernels/cpu/gemm_eigen.inc).
// This unit holds the baseline (AVX2/FMA) instance and the dispatch: when the library was built with the
// AVX-512 instance (kernels/cpu/gemm_avx512.cpp) and the CPU supports it, that one is used. GANGLION_GEMM_ISA=avx2
// in the environment forces the baseline (to compare the two).
#include "kernels/gemm.h"

#include <cstdlib>
#include <cstring>

#include "kernels/cpu/gemm_variants.h"

#define GANGLION_GEMM_EIGEN_FN gemm_eigen_avx2
#include "kernels/cpu/gemm_eigen.inc"

namespace ganglion::cpu {
namespace {

bool use_avx512() {
#if defined(GANGLION_GEMM_AVX512)
  static const bool use = [] {
    const char* isa = std::getenv("GANGLION_GEMM_ISA");
    if (isa && std::strcmp(isa, "avx2") == 0) return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
  }();
  return use;
#else
  return false;
#endif
}

}  // namespace

void gemm(Stream, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
#if defined(GANGLION_GEMM_AVX512)
  if (use_avx512()) return gemm_eigen_avx512(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
  gemm_eigen_avx2(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace ganglion::cpu
