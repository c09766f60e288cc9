// kernels/cpu/gemm.cpp — CPU twin of kernels/gemm.h: row-major C = alpha*op(A)*op(B) + beta*C through Eigen,
// mapping the caller's buffers (with their leading dimensions) without copying.
#include "kernels/gemm.h"

// Eigen 3.4's AVX headers trip -Wunused-variable when included as a plain (non-system) path.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-variable"
#include <Eigen/Core>
#pragma GCC diagnostic pop

namespace ganglion::cpu {
namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMat, Eigen::Unaligned, Eigen::OuterStride<>>;
using MutMap = Eigen::Map<RowMat, Eigen::Unaligned, Eigen::OuterStride<>>;

// C (+)= alpha * a * b for any pair of (possibly transposed) Eigen expressions.
template <class LA, class LB>
void product(MutMap& c, float alpha, const LA& a, const LB& b, float beta) {
  if (beta == 0.f) {
    c.noalias() = alpha * (a * b);  // assignment: prior contents (even NaN) never read
  } else {
    if (beta != 1.f) c *= beta;
    c.noalias() += alpha * (a * b);
  }
}

}  // namespace

void gemm(Stream, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  MutMap c(C, M, N, Eigen::OuterStride<>(ldc));
  if (K <= 0) {  // empty product: C = beta*C (overwrite with zeros when beta == 0)
    if (beta == 0.f) c.setZero();
    else c *= beta;
    return;
  }
  // Stored shapes: A is [K,M] when transposed, [M,K] otherwise; B is [N,K] when transposed, [K,N] otherwise.
  ConstMap a(A, trans_a ? K : M, trans_a ? M : K, Eigen::OuterStride<>(lda));
  ConstMap b(B, trans_b ? N : K, trans_b ? K : N, Eigen::OuterStride<>(ldb));
  if (trans_a && trans_b) product(c, alpha, a.transpose(), b.transpose(), beta);
  else if (trans_a) product(c, alpha, a.transpose(), b, beta);
  else if (trans_b) product(c, alpha, a, b.transpose(), beta);
  else product(c, alpha, a, b, beta);
}

}  // namespace ganglion::cpu
