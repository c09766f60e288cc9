// gan/linalg_small.cpp — the cyclic Jacobi eigen-solver, the PSD square root and a square matmul, all in double
// on the host (see gan/linalg_small.h).
#include "gan/linalg_small.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "kernels/common.h"

namespace ganglion {

namespace {

void check_square(const std::vector<double>& a, int64_t n, const char* what) {
  if (n <= 0 || static_cast<int64_t>(a.size()) != n * n)
    throw Error(std::string(what) + ": expected an " + std::to_string(n) + " x " + std::to_string(n) +
                " matrix (" + std::to_string(n * n) + " values), got " + std::to_string(a.size()) + " values");
  for (double v : a)
    if (!std::isfinite(v)) throw Error(std::string(what) + ": the matrix has a non-finite entry");
}

double off_diagonal_sq(const std::vector<double>& a, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) s += 2.0 * a[i * n + j] * a[i * n + j];
  return s;
}

// One Jacobi rotation A <- J^T A J, V <- V J in the (p, q) plane, chosen so that A[p][q] becomes 0.
void rotate(std::vector<double>& a, std::vector<double>& v, int64_t n, int64_t p, int64_t q) {
  const double apq = a[p * n + q];
  if (apq == 0.0) return;
  const double theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
  // The smaller root of t^2 + 2 theta t - 1 = 0 (|angle| <= pi/4), safe for huge theta.
  const double t = std::abs(theta) > 1e100 ? 0.5 / theta
                                            : (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1.0));
  const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
  for (int64_t k = 0; k < n; ++k) {  // columns p and q: A J
    const double akp = a[k * n + p], akq = a[k * n + q];
    a[k * n + p] = c * akp - s * akq;
    a[k * n + q] = s * akp + c * akq;
  }
  for (int64_t k = 0; k < n; ++k) {  // rows p and q: J^T (A J)
    const double apk = a[p * n + k], aqk = a[q * n + k];
    a[p * n + k] = c * apk - s * aqk;
    a[q * n + k] = s * apk + c * aqk;
  }
  a[p * n + q] = a[q * n + p] = 0.0;
  for (int64_t k = 0; k < n; ++k) {
    const double vkp = v[k * n + p], vkq = v[k * n + q];
    v[k * n + p] = c * vkp - s * vkq;
    v[k * n + q] = s * vkp + c * vkq;
  }
}

}  // namespace

SymmetricEigen symmetric_eigen(const std::vector<double>& a_in, int64_t n, double tol, int max_sweeps) {
  check_square(a_in, n, "symmetric_eigen");
  std::vector<double> a(a_in.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i; j < n; ++j) a[i * n + j] = a[j * n + i] = a_in[i * n + j];
  std::vector<double> v(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i) v[i * n + i] = 1.0;

  double total = 0.0;
  for (double x : a) total += x * x;
  SymmetricEigen r;
  r.n = n;
  const double stop = tol * tol * total;
  while (r.sweeps < max_sweeps && total > 0.0 && off_diagonal_sq(a, n) > stop) {
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) rotate(a, v, n, p, q);
    ++r.sweeps;
  }

  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t i, int64_t j) { return a[i * n + i] < a[j * n + j]; });
  r.values.resize(static_cast<size_t>(n));
  r.vectors.resize(static_cast<size_t>(n * n));
  for (int64_t j = 0; j < n; ++j) {
    const int64_t src = order[static_cast<size_t>(j)];
    r.values[static_cast<size_t>(j)] = a[src * n + src];
    for (int64_t k = 0; k < n; ++k) r.vectors[k * n + j] = v[k * n + src];
  }
  return r;
}

std::vector<double> sqrt_psd(const std::vector<double>& a, int64_t n) {
  const SymmetricEigen e = symmetric_eigen(a, n);
  std::vector<double> root(static_cast<size_t>(n * n), 0.0);
  for (int64_t j = 0; j < n; ++j) {
    const double s = std::sqrt(std::max(e.values[static_cast<size_t>(j)], 0.0));
    if (s == 0.0) continue;
    for (int64_t i = 0; i < n; ++i) {
      const double vis = s * e.vectors[i * n + j];
      for (int64_t k = 0; k < n; ++k) root[i * n + k] += vis * e.vectors[k * n + j];
    }
  }
  return root;
}

std::vector<double> matmul_square(const std::vector<double>& a, const std::vector<double>& b, int64_t n) {
  check_square(a, n, "matmul_square");
  check_square(b, n, "matmul_square");
  std::vector<double> c(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < n; ++k) {
      const double aik = a[i * n + k];
      for (int64_t j = 0; j < n; ++j) c[i * n + j] += aik * b[k * n + j];
    }
  return c;
}

}  // namespace ganglion
