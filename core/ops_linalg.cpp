// core/ops_linalg.cpp — matmul (2-D, with transpose flags, through the gemm twins) and linear.
#include "core/dispatch.h"
#include "core/ops_util.h"
#include "kernels/gemm.h"

namespace ganglion {

Tensor matmul(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  OpScope scope("matmul");
  detail::check_float("matmul", a);
  detail::check_float("matmul", b);
  detail::check_same_device("matmul", {&a, &b});
  if (a.dim() != 2 || b.dim() != 2) {
    throw Error("matmul: expected 2-D tensors, got " + shape_str(a.shape()) + " and " + shape_str(b.shape()));
  }
  int64_t M = ta ? a.size(1) : a.size(0), K = ta ? a.size(0) : a.size(1);
  int64_t Kb = tb ? b.size(1) : b.size(0), N = tb ? b.size(0) : b.size(1);
  if (K != Kb) {
    throw Error("matmul: inner dimensions differ: " + shape_str(a.shape()) + (ta ? "^T" : "") + " x " +
                shape_str(b.shape()) + (tb ? "^T" : "") + " (" + std::to_string(K) + " vs " + std::to_string(Kb) + ")");
  }
  Tensor c = Tensor::empty({M, N}, a.device());
  if (M * N > 0) {
    if (K == 0) {
      fill_(c, 0.f);
    } else {
      GANGLION_DISPATCH(a.device(), gemm, ta, tb, M, N, K, 1.f, a.data(), a.size(1), b.data(), b.size(1), 0.f,
                        c.data(), N);
    }
  }
  return record("matmul", c, {a, b}, [a, b, ta, tb](const Tensor& g, const Tensor&) {
    Tensor ga, gb;
    if (a.requires_grad()) ga = ta ? matmul(b, g, tb, true) : matmul(g, b, false, !tb);
    if (b.requires_grad()) gb = tb ? matmul(g, a, true, ta) : matmul(a, g, !ta, false);
    return std::vector<Tensor>{ga, gb};
  });
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  detail::check_float("linear", x);
  detail::check_float("linear", w);
  if (x.dim() != 2 || w.dim() != 2 || x.size(1) != w.size(1)) {
    throw Error("linear: input " + shape_str(x.shape()) + " does not match weight " + shape_str(w.shape()) +
                " (expected input [N, in] and weight [out, in])");
  }
  if (b.defined() && (b.dim() != 1 || b.size(0) != w.size(0))) {
    throw Error("linear: bias " + shape_str(b.shape()) + " does not match weight " + shape_str(w.shape()) +
                " (expected [" + std::to_string(w.size(0)) + "])");
  }
  Tensor y = matmul(x, w, false, true);
  return b.defined() ? add(y, b) : y;
}

}  // namespace ganglion
