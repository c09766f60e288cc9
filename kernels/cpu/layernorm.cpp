// kernels/cpu/layernorm.cpp — CPU twin of kernels/layernorm.h: layer normalisation of each row of [M, D] with
// statistics in double, and its backward. Rows are spread over OpenMP threads; dgamma/dbeta are summed over rows
// in double per thread, then reduced in thread order.
#include "kernels/layernorm.h"

#include <omp.h>

#include <cmath>
#include <vector>

namespace ganglion::cpu {
namespace {

constexpr int64_t kParallelMin = 32768;

bool parallel(int64_t M, int64_t D) { return M * D > kParallelMin && M > 1; }

}  // namespace

void layernorm_forward(Stream, const float* x, const float* gamma, const float* beta, float* y, float* save_mean,
                       float* save_invstd, int64_t M, int64_t D, float eps) {
#pragma omp parallel for schedule(static) if (parallel(M, D))
  for (int64_t m = 0; m < M; ++m) {
    const float* xr = x + m * D;
    double sum = 0.0;
    for (int64_t d = 0; d < D; ++d) sum += xr[d];
    const double mean = D > 0 ? sum / D : 0.0;
    double ss = 0.0;
    for (int64_t d = 0; d < D; ++d) ss += (xr[d] - mean) * (xr[d] - mean);
    const double var = D > 0 ? ss / D : 0.0;
    const float meanf = static_cast<float>(mean);
    const float invstd = static_cast<float>(1.0 / std::sqrt(var + eps));
    float* yr = y + m * D;
    for (int64_t d = 0; d < D; ++d) {
      const float xhat = (xr[d] - meanf) * invstd;
      yr[d] = xhat * (gamma ? gamma[d] : 1.f) + (beta ? beta[d] : 0.f);
    }
    save_mean[m] = meanf;
    save_invstd[m] = invstd;
  }
}

void layernorm_backward(Stream, const float* x, const float* dy, const float* gamma, const float* save_mean,
                        const float* save_invstd, float* dx, float* dgamma, float* dbeta, int64_t M, int64_t D) {
  const bool par = parallel(M, D);
  const int nt = par ? omp_get_max_threads() : 1;
  const bool want_params = dgamma || dbeta;
  // Per-thread sums over rows of dy*xhat (for dgamma) and dy (for dbeta).
  std::vector<std::vector<double>> dg(want_params ? nt : 0), db(want_params ? nt : 0);
#pragma omp parallel num_threads(nt) if (par)
  {
    const int t = omp_get_thread_num();
    if (want_params) {
      dg[t].assign(D, 0.0);
      db[t].assign(D, 0.0);
    }
#pragma omp for schedule(static)
    for (int64_t m = 0; m < M; ++m) {
      const float* xr = x + m * D;
      const float* dyr = dy + m * D;
      const double mean = save_mean[m], invstd = save_invstd[m];
      double s1 = 0.0, s2 = 0.0;  // sum_d dy*gamma, sum_d dy*gamma*xhat
      for (int64_t d = 0; d < D; ++d) {
        const double xhat = (xr[d] - mean) * invstd;
        const double dyg = static_cast<double>(dyr[d]) * (gamma ? gamma[d] : 1.f);
        s1 += dyg;
        s2 += dyg * xhat;
        if (want_params) {
          dg[t][d] += dyr[d] * xhat;
          db[t][d] += dyr[d];
        }
      }
      const double m1 = D > 0 ? s1 / D : 0.0, m2 = D > 0 ? s2 / D : 0.0;
      for (int64_t d = 0; d < D; ++d) {
        const double xhat = (xr[d] - mean) * invstd;
        const double dyg = static_cast<double>(dyr[d]) * (gamma ? gamma[d] : 1.f);
        dx[m * D + d] = static_cast<float>(invstd * (dyg - m1 - xhat * m2));
      }
    }
  }
  for (int64_t d = 0; d < D && want_params; ++d) {
    double g = 0.0, b = 0.0;
    for (size_t t = 0; t < dg.size(); ++t) {
      if (dg[t].empty()) continue;  // a thread the runtime did not start
      g += dg[t][d];
      b += db[t][d];
    }
    if (dgamma) dgamma[d] = static_cast<float>(g);
    if (dbeta) dbeta[d] = static_cast<float>(b);
  }
}

}  // namespace ganglion::cpu
