// kernels/cpu/gemm_variants.h — the instruction-set variants of the Eigen GEMM body (kernels/cpu/gemm_eigen.inc)
// that kernels/cpu/gemm.cpp chooses between at run time. Same arguments as cpu::gemm, without the stream.
#pragma once
#include <cstdint>

namespace ganglion::cpu {

void gemm_eigen_avx2(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                     int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
// Defined only when the compiler could build it (GANGLION_GEMM_AVX512 set by the build); call only when the CPU
// has AVX-512F/DQ/VL/BW.
void gemm_eigen_avx512(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                       int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace ganglion::cpu
