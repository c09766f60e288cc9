// kernels/cpu/gemm_avx512.cpp — the AVX-512 instance of the Eigen GEMM body (kernels/cpu/gemm_eigen.inc),
// compiled with -mavx512f/dq/vl/bw (CMakeLists.txt sets those flags on this file only and defines
// GANGLION_GEMM_AVX512). kernels/cpu/gemm.cpp calls it only on CPUs that have those extensions. Eigen's
// namespace is renamed here so that none of this unit's Eigen instances shares a symbol with the baseline's.
#if defined(GANGLION_GEMM_AVX512)
#include <cstdint>

#include "kernels/cpu/gemm_variants.h"

#define Eigen ganglion_eigen_avx512
#define GANGLION_GEMM_EIGEN_FN gemm_eigen_avx512
// GCC 12 flags its own AVX-512 unpack intrinsics, as Eigen's transposes use them, as maybe-uninitialised.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "kernels/cpu/gemm_eigen.inc"
#pragma GCC diagnostic pop
#endif
