// tests/test_autograd.cpp — the autograd contract: backward() accumulates into .grad (proved with poisoned and
// known prior gradients), zero_grad() drops it, grad() returns fresh tensors and touches no .grad, no_grad and
// detach cut the graph, create_graph gives differentiable gradients, and unused inputs are an error.
#include <cmath>
#include <limits>

#include "test_util.h"

using namespace ganglion;
using Catch::Matchers::Contains;

namespace {

bool all_finite(const Tensor& t) {
  for (float v : t.to_vector())
    if (!std::isfinite(v)) return false;
  return true;
}

Tensor poison(const Shape& s) { return full(s, std::numeric_limits<float>::infinity()); }

}  // namespace

TEST_CASE("autograd: backward accumulates into an existing .grad", "[autograd]") {
  Tensor x = gtest::rnd({2, 3}, 1).set_requires_grad();
  Tensor old = gtest::rnd({2, 3}, 2);
  x.set_grad(old.contiguous_copy());
  sum(square(x)).backward();
  gtest::check_close(x.grad(), old + 2.f * x.detach(), "old + d/dx sum(x^2)", 1e-6);

  // A second backward adds again.
  sum(mul_scalar(x, 3.f)).backward();
  gtest::check_close(x.grad(), old + 2.f * x.detach() + full({2, 3}, 3.f), "after a second backward", 1e-6);
}

TEST_CASE("autograd: a poisoned .grad is gone after zero_grad", "[autograd]") {
  Tensor x = gtest::rnd({4}, 3).set_requires_grad();
  Tensor w = gtest::rnd({4}, 4).set_requires_grad();
  x.set_grad(poison({4}));
  w.set_grad(poison({4}));
  x.zero_grad();
  w.zero_grad();
  CHECK_FALSE(x.grad().defined());
  sum(x * w).backward();
  REQUIRE(x.grad().defined());
  CHECK(all_finite(x.grad()));
  CHECK(all_finite(w.grad()));
  gtest::check_close(x.grad(), w.detach(), "d/dx sum(x*w)", 0);
  gtest::check_close(w.grad(), x.detach(), "d/dw sum(x*w)", 0);
}

TEST_CASE("autograd: without zero_grad a poisoned .grad stays poisoned (accumulate, not overwrite)", "[autograd]") {
  Tensor x = gtest::rnd({3}, 5).set_requires_grad();
  x.set_grad(poison({3}));
  sum(x).backward();
  for (float v : x.grad().to_vector()) CHECK(std::isinf(v));
}

TEST_CASE("autograd: leaves not reached by backward keep their .grad", "[autograd]") {
  Tensor x = gtest::rnd({3}, 6).set_requires_grad();
  Tensor y = gtest::rnd({3}, 7).set_requires_grad();
  y.set_grad(poison({3}));
  sum(square(x)).backward();
  for (float v : y.grad().to_vector()) CHECK(std::isinf(v));
}

TEST_CASE("autograd: grad() returns fresh tensors and leaves .grad alone", "[autograd]") {
  Tensor x = gtest::rnd({2, 2}, 8).set_requires_grad();
  x.set_grad(poison({2, 2}));
  Tensor y = sum(x * x * x);
  std::vector<Tensor> g = grad({y}, {x});
  REQUIRE(g.size() == 1);
  CHECK(all_finite(g[0]));
  gtest::check_close(g[0], 3.f * square(x.detach()), "d/dx sum(x^3)", 1e-6);
  for (float v : x.grad().to_vector()) CHECK(std::isinf(v));
  CHECK(g[0].impl() != x.grad().impl());
  CHECK(g[0].data() != x.grad().data());

  // Without a prior .grad, grad() leaves it undefined.
  Tensor z = gtest::rnd({3}, 9).set_requires_grad();
  grad({sum(exp(z))}, {z});
  CHECK_FALSE(z.grad().defined());
}

TEST_CASE("autograd: grad_outputs weight non-scalar outputs; a non-scalar needs one", "[autograd]") {
  Tensor x = gtest::rnd({2, 3}, 10).set_requires_grad();
  Tensor w = gtest::rnd({2, 3}, 11);
  Tensor y = mul_scalar(x, 2.f);
  gtest::check_close(grad({y}, {x}, {w})[0], 2.f * w, "grad with grad_outputs", 1e-6);
  REQUIRE_THROWS_AS(grad({mul_scalar(x, 2.f)}, {x}), Error);
  REQUIRE_THROWS_AS(mul_scalar(x, 2.f).backward(), Error);
}

TEST_CASE("autograd: several paths to one leaf are summed", "[autograd]") {
  Tensor x = gtest::rnd({5}, 12).set_requires_grad();
  Tensor a = x * x;           // 2x
  Tensor b = exp(x);          // e^x
  Tensor y = sum(a + b * x);  // 2x + e^x (1 + x)
  Tensor xd = x.detach();
  Tensor want = 2.f * xd + exp(xd) * (1.f + xd);
  gtest::check_close(grad({y}, {x})[0], want, "diamond graph", 1e-5);
  // Two outputs at once.
  gtest::check_close(grad({sum(a), sum(b)}, {x})[0], 2.f * xd + exp(xd), "two outputs", 1e-5);
}

TEST_CASE("autograd: a deep chain does not overflow the stack", "[autograd]") {
  Tensor x = gtest::rnd({4}, 13).set_requires_grad();
  Tensor y = x;
  for (int i = 0; i < 20000; ++i) y = add_scalar(y, 1e-4f);
  gtest::check_close(grad({sum(y)}, {x})[0], ones({4}), "d/dx of a 20000-op chain", 0);
}

TEST_CASE("autograd: no_grad records nothing and restores the mode", "[autograd]") {
  Tensor x = gtest::rnd({3}, 14).set_requires_grad();
  REQUIRE(grad_enabled());
  {
    NoGradGuard ng;
    CHECK_FALSE(grad_enabled());
    Tensor y = x * x;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.grad_fn() == nullptr);
    {
      GradModeGuard on(true);
      CHECK(grad_enabled());
      CHECK((x * x).requires_grad());
    }
    CHECK_FALSE(grad_enabled());
  }
  CHECK(grad_enabled());
  Tensor y = x * x;
  CHECK(y.requires_grad());
  CHECK(y.grad_fn() != nullptr);
  CHECK_FALSE(y.is_leaf());
  CHECK(x.is_leaf());
}

TEST_CASE("autograd: detach shares storage and cuts the graph", "[autograd]") {
  Tensor x = gtest::rnd({3}, 15).set_requires_grad();
  Tensor y = exp(x);
  Tensor d = y.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.grad_fn() == nullptr);
  CHECK(d.data() == y.data());
  // Only the non-detached path contributes.
  Tensor z = sum(y * d);
  gtest::check_close(grad({z}, {x})[0], exp(x.detach()) * exp(x.detach()), "through y only", 1e-6);
  // A graph through the detached tensor alone does not reach x.
  Tensor w = gtest::rnd({3}, 16).set_requires_grad();
  REQUIRE_THROWS_AS(grad({sum(d * w)}, {x}), Error);
}

TEST_CASE("autograd: create_graph gives gradients that are themselves differentiable", "[autograd]") {
  Tensor x = gtest::rnd({4}, 17).set_requires_grad();
  Tensor y = sum(x * x * x);
  Tensor g = grad({y}, {x}, {}, /*create_graph=*/true)[0];
  CHECK(g.requires_grad());
  Tensor xd = x.detach();
  gtest::check_close(g, 3.f * square(xd), "first derivative", 1e-6);
  Tensor g2 = grad({sum(g)}, {x})[0];
  gtest::check_close(g2, 6.f * xd, "second derivative", 1e-6);
  Tensor g3 = grad({sum(grad({sum(g * g)}, {x}, {}, true)[0])}, {x})[0];  // d/dx of d/dx 9 x^4 = 108 x^2
  gtest::check_close(g3, 108.f * square(xd), "third derivative", 1e-5);

  // Without create_graph the result is a plain tensor.
  Tensor plain = grad({sum(x * x * x)}, {x})[0];
  CHECK_FALSE(plain.requires_grad());
}

TEST_CASE("autograd: backward(create_graph) leaves a differentiable .grad", "[autograd]") {
  Tensor x = gtest::rnd({3}, 18).set_requires_grad();
  sum(x * x * x).backward(Tensor(), /*create_graph=*/true);
  REQUIRE(x.grad().defined());
  Tensor gx = x.grad();
  CHECK(gx.requires_grad());
  gtest::check_close(grad({sum(gx)}, {x})[0], 6.f * x.detach(), "d/dx of .grad", 1e-6);
  x.zero_grad();  // breaks the leaf -> .grad -> graph -> leaf cycle (LeakSanitizer reported it)
}

TEST_CASE("autograd: an input the outputs do not use is an error unless allow_unused", "[autograd]") {
  Tensor x = gtest::rnd({3}, 19).set_requires_grad();
  Tensor u = gtest::rnd({2, 2}, 20).set_requires_grad();
  Tensor y = sum(x * x);
  REQUIRE_THROWS_AS(grad({y}, {x, u}), Error);
  std::vector<Tensor> g = grad({sum(x * x)}, {x, u}, {}, false, /*allow_unused=*/true);
  REQUIRE(g.size() == 2);
  REQUIRE(g[1].defined());
  CHECK(g[1].shape() == Shape{2, 2});
  for (float v : g[1].to_vector()) CHECK(v == 0.f);
}

TEST_CASE("autograd: grad with respect to an intermediate tensor", "[autograd]") {
  Tensor x = gtest::rnd({3}, 21).set_requires_grad();
  Tensor h = exp(x);
  Tensor y = sum(h * h);
  gtest::check_close(grad({y}, {h})[0], 2.f * h.detach(), "d/dh sum(h^2)", 1e-6);
}

TEST_CASE("autograd: gradients reach every leaf through shape ops and broadcasting", "[autograd]") {
  Tensor a = gtest::rnd({2, 3}, 22).set_requires_grad();
  Tensor b = gtest::rnd({3}, 23).set_requires_grad();
  Tensor y = sum(square(reshape(a + b, {3, 2})));
  std::vector<Tensor> g = grad({y}, {a, b});
  Tensor s = a.detach() + b.detach();
  gtest::check_close(g[0], 2.f * s, "d/da", 1e-6);
  gtest::check_close(g[1], sum(2.f * s, {0}), "d/db (summed over the broadcast)", 1e-6);
}
