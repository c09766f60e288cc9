// gan/linalg_small.h — small dense linear algebra in double precision on the host, for the metrics: a cyclic
// Jacobi eigen-solver for symmetric matrices and the square root of a positive semi-definite matrix. Matrices are
// row-major n x n std::vector<double>; meant for n up to a few hundred (feature covariances, D = 128).
// Eigen stays in kernels/cpu (see ARCHITECTURE.md), hence this solver of our own.
#pragma once
#include <cstdint>
#include <vector>

namespace ganglion {

struct SymmetricEigen {
  int64_t n = 0;
  std::vector<double> values;   // n eigenvalues, ascending
  std::vector<double> vectors;  // n x n row-major; column j is the unit eigenvector of values[j]
  int sweeps = 0;               // Jacobi sweeps used
};

// Eigen-decomposition of the symmetric matrix a (only its upper triangle is read; the matrix is symmetrised as
// (a + a^T)/2 first). Cyclic Jacobi rotations until the off-diagonal Frobenius norm is below
// tol * the whole matrix's Frobenius norm (or max_sweeps). Throws Error on a bad size or non-finite entries.
SymmetricEigen symmetric_eigen(const std::vector<double>& a, int64_t n, double tol = 1e-12, int max_sweeps = 60);

// The symmetric square root V diag(sqrt(max(lambda, 0))) V^T of a symmetric positive semi-definite matrix
// (tiny negative eigenvalues from rounding are clamped to 0).
std::vector<double> sqrt_psd(const std::vector<double>& a, int64_t n);

// c = a b for n x n row-major matrices.
std::vector<double> matmul_square(const std::vector<double>& a, const std::vector<double>& b, int64_t n);

}  // namespace ganglion
