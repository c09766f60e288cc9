// tests/cuda_test_util.h — helpers for the [cuda] twin tests: skip visibly without a GPU, and run one
// differentiable function on the CPU and on CUDA from the same inputs, comparing outputs and every gradient.
#pragma once
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/ops.h"

namespace ganglion::testing {

// True when a GPU is usable; otherwise WARNs "skipped: <reason>" so the skip shows in the test output.
inline bool cuda_or_skip() {
  std::string why;
  if (cuda_available(&why)) return true;
  WARN("[cuda] test skipped: " << why);
  return false;
}

// ||a - b|| / max(||b||, tiny)
inline double rel_error(const Tensor& a, const Tensor& b) {
  std::vector<float> va = a.to_vector(), vb = b.to_vector();
  REQUIRE(va.size() == vb.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    if (!std::isfinite(va[i])) return INFINITY;
    num += (double(va[i]) - vb[i]) * (double(va[i]) - vb[i]);
    den += double(vb[i]) * vb[i];
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}

using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;

// Runs fn on CPU copies and CUDA copies of `inputs` (every input requires grad), back-propagates the same
// random upstream gradient, and checks the output and each input's gradient agree within `tol` (relative).
inline void check_twins(const std::string& what, const OpFn& fn, const std::vector<Tensor>& inputs, double tol = 1e-4,
                        uint64_t seed = 99) {
  INFO(what);
  std::vector<Tensor> cpu_in, gpu_in;
  for (const Tensor& t : inputs) {
    cpu_in.push_back(t.detach().contiguous_copy().set_requires_grad());
    gpu_in.push_back(t.detach().to(Device::cuda()).set_requires_grad());
  }
  Tensor yc = fn(cpu_in), yg = fn(gpu_in);
  REQUIRE(yg.device().is_cuda());
  REQUIRE(yc.shape() == yg.shape());
  double e = rel_error(yg, yc);
  INFO("forward rel error " << e);
  CHECK(e <= tol);
  Generator gen(seed);
  Tensor gy = gen.randn(yc.shape());
  std::vector<Tensor> gc = grad({yc}, cpu_in, {gy}, false, true);
  std::vector<Tensor> gg = grad({yg}, gpu_in, {gy.to(Device::cuda())}, false, true);
  for (size_t i = 0; i < gc.size(); ++i) {
    double eg = rel_error(gg[i], gc[i]);
    INFO("gradient of input " << i << " rel error " << eg);
    CHECK(eg <= tol);
  }
}

}  // namespace ganglion::testing
