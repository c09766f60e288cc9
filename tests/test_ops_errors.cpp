// tests/test_ops_errors.cpp — bad inputs to ops: each must throw ganglion::Error (never abort) with a message that
// names the op and the offending shapes, so a user can see which layer is wrong.
#include <functional>

#include "test_util.h"

using namespace ganglion;
using Catch::Matchers::Contains;

namespace {

// `fn` must throw ganglion::Error whose message contains every one of `parts`.
void expect_error(const std::string& what, const std::function<void()>& fn, const std::vector<std::string>& parts) {
  INFO(what);
  try {
    fn();
    FAIL_CHECK(what << ": no error was thrown");
  } catch (const Error& e) {
    for (const std::string& p : parts) CHECK_THAT(e.what(), Contains(p));
  } catch (const std::exception& e) {
    FAIL_CHECK(what << ": threw a non-ganglion exception: " << e.what());
  }
}

Tensor z(const Shape& s) { return zeros(s); }

}  // namespace

TEST_CASE("op errors: conv2d", "[ops][errors]") {
  expect_error("channel mismatch", [] { conv2d(z({2, 3, 8, 8}), z({4, 2, 3, 3})); },
               {"conv2d", "[2,3,8,8]", "[4,2,3,3]"});
  expect_error("3-D input", [] { conv2d(z({3, 8, 8}), z({4, 3, 3, 3})); }, {"conv2d", "[3,8,8]"});
  expect_error("3-D weight", [] { conv2d(z({1, 3, 8, 8}), z({4, 3, 3})); }, {"conv2d", "[4,3,3]"});
  expect_error("kernel larger than the padded input", [] { conv2d(z({1, 1, 2, 2}), z({1, 1, 5, 5})); },
               {"conv2d", "[1,1,2,2]"});
  expect_error("bias size", [] { conv2d(z({1, 3, 8, 8}), z({4, 3, 3, 3}), z({3})); }, {"conv2d", "[3]"});
  expect_error("stride 0", [] { conv2d(z({1, 3, 8, 8}), z({4, 3, 3, 3}), Tensor(), {0, 0, 1}); }, {"conv2d", "stride"});
}

TEST_CASE("op errors: conv_transpose2d", "[ops][errors]") {
  expect_error("channel mismatch", [] { conv_transpose2d(z({2, 3, 4, 4}), z({2, 4, 3, 3})); },
               {"conv_transpose2d", "[2,3,4,4]", "[2,4,3,3]"});
  expect_error("output_padding >= stride",
               [] { conv_transpose2d(z({1, 2, 4, 4}), z({2, 2, 4, 4}), Tensor(), {2, 1, 2, 1}); },
               {"conv_transpose2d", "output_padding"});
  expect_error("bias size", [] { conv_transpose2d(z({1, 2, 4, 4}), z({2, 3, 4, 4}), z({2})); },
               {"conv_transpose2d", "[2]"});
}

TEST_CASE("op errors: matmul and linear", "[ops][errors]") {
  expect_error("inner mismatch", [] { matmul(z({3, 4}), z({5, 6})); }, {"matmul", "[3,4]", "[5,6]"});
  expect_error("inner mismatch after transpose", [] { matmul(z({3, 4}), z({4, 3}), false, true); },
               {"matmul", "[3,4]", "[4,3]"});
  expect_error("not 2-D", [] { matmul(z({2, 3, 4}), z({4, 5})); }, {"matmul", "[2,3,4]"});
  expect_error("linear in-features", [] { linear(z({4, 6}), z({5, 7})); }, {"linear", "[4,6]", "[5,7]"});
  expect_error("linear bias", [] { linear(z({4, 6}), z({5, 6}), z({4})); }, {"linear", "[4]", "[5,6]"});
}

TEST_CASE("op errors: broadcasting", "[ops][errors]") {
  expect_error("add", [] { add(z({2, 3}), z({4})); }, {"add", "[2,3]", "[4]"});
  expect_error("sub", [] { sub(z({2, 3, 4}), z({3, 5})); }, {"sub", "[2,3,4]", "[3,5]"});
  expect_error("mul", [] { mul(z({2, 3}), z({3, 2})); }, {"mul", "[2,3]", "[3,2]"});
  expect_error("div", [] { div(z({5}), z({4})); }, {"div", "[5]", "[4]"});
  expect_error("expand", [] { expand(z({3}), {4}); }, {"expand", "[3]", "[4]"});
  expect_error("sum_to_shape", [] { sum_to_shape(z({2, 3}), {4}); }, {"sum_to_shape", "[2,3]", "[4]"});
}

TEST_CASE("op errors: reshape, flatten, concat, slice", "[ops][errors]") {
  expect_error("reshape size", [] { reshape(z({2, 3}), {4, 2}); }, {"reshape", "[2,3]", "[4,2]"});
  expect_error("reshape two -1", [] { reshape(z({2, 3}), {-1, -1}); }, {"reshape", "-1"});
  expect_error("reshape -1 that does not divide", [] { reshape(z({2, 3}), {4, -1}); }, {"reshape", "[2,3]"});
  expect_error("flatten start_dim", [] { flatten(z({2, 3}), 5); }, {"flatten", "[2,3]"});
  expect_error("concat shape", [] { concat({z({2, 3}), z({2, 4})}, 0); }, {"concat", "[2,3]", "[2,4]"});
  expect_error("concat rank", [] { concat({z({2, 3}), z({2, 3, 1})}, 0); }, {"concat", "[2,3]", "[2,3,1]"});
  expect_error("concat empty", [] { concat({}, 0); }, {"concat"});
  expect_error("concat dim", [] { concat({z({2, 3}), z({2, 3})}, 2); }, {"concat", "2"});
  expect_error("slice end", [] { slice(z({4, 5}), 1, 2, 7); }, {"slice", "[4,5]"});
  expect_error("slice start > end", [] { slice(z({4, 5}), 0, 3, 2); }, {"slice", "[4,5]"});
  expect_error("slice dim", [] { slice(z({4, 5}), 2, 0, 1); }, {"slice", "[4,5]"});
  expect_error("slice negative start", [] { slice(z({4, 5}), 0, -1, 2); }, {"slice", "[4,5]"});
}

TEST_CASE("op errors: reductions", "[ops][errors]") {
  expect_error("sum dim", [] { sum(z({2, 3}), {2}); }, {"sum", "[2,3]"});
  expect_error("mean dim", [] { mean(z({2, 3}), {-3}); }, {"mean", "[2,3]"});
  expect_error("max dim", [] { max(z({2, 3}), 3); }, {"max", "[2,3]"});
}

TEST_CASE("op errors: normalisation and losses", "[ops][errors]") {
  expect_error("batch_norm gamma", [] { batch_norm(z({4, 3, 2, 2}), z({2}), z({3}), Tensor(), Tensor(), true); },
               {"batch_norm", "[2]"});
  expect_error("batch_norm 1-D input", [] { batch_norm(z({4}), Tensor(), Tensor(), Tensor(), Tensor(), true); },
               {"batch_norm", "[4]"});
  expect_error("batch_norm eval without running stats",
               [] { batch_norm(z({4, 3}), Tensor(), Tensor(), Tensor(), Tensor(), false); }, {"batch_norm", "running"});
  expect_error("layer_norm gamma", [] { layer_norm(z({2, 3, 4}), 2, z({4}), z({3, 4})); }, {"layer_norm", "[4]"});
  expect_error("layer_norm dims", [] { layer_norm(z({2, 3}), 3, Tensor(), Tensor()); }, {"layer_norm", "[2,3]"});
  expect_error("mse_loss", [] { mse_loss(z({3, 4}), z({4, 3})); }, {"mse_loss", "[3,4]", "[4,3]"});
  expect_error("bce_with_logits", [] { bce_with_logits(z({8, 1}), z({8})); }, {"bce_with_logits", "[8,1]", "[8]"});
  expect_error("interpolate eps", [] { interpolate(z({4, 2}), z({4, 2}), z({3})); }, {"interpolate", "[3]"});
  expect_error("interpolate inputs", [] { interpolate(z({4, 2}), z({4, 3}), z({4})); }, {"interpolate", "[4,2]", "[4,3]"});
  expect_error("gradient_penalty scalar", [] { gradient_penalty(z({}), 10.f); }, {"gradient_penalty", "[]"});
}

TEST_CASE("op errors: undefined tensors and misc", "[ops][errors]") {
  expect_error("add undefined", [] { add(Tensor(), z({2})); }, {"add"});
  expect_error("clamp bounds", [] { clamp(z({2}), 1.f, -1.f); }, {"clamp"});
  expect_error("item of many", [] { (void)z({2, 2}).item(); }, {"[2,2]"});
  expect_error("from_vector size", [] { from_vector({1, 2, 3}, {2, 2}); }, {"from_vector", "[2,2]"});
  expect_error("adam shapes", [] {
    Tensor p = z({3}), m = z({3}), v = z({2});
    adam_update_(p, z({3}), m, v, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.f, 1);
  }, {"[2]"});
}

TEST_CASE("op errors: copy_ needs the same shape (core/ops.h: 'same shape'), not only the same size", "[ops][errors]") {
  expect_error("copy_ shapes", [] {
    Tensor a = z({2, 3});
    copy_(a, z({3, 2}));
  }, {"copy_", "[2,3]", "[3,2]"});
  expect_error("copy_ sizes", [] {
    Tensor a = z({2, 3});
    copy_(a, z({5}));
  }, {"copy_", "[2,3]", "[5]"});
}
