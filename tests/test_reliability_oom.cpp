// tests/test_reliability_oom.cpp — a host allocation that cannot be met is an Error naming the op that asked, the
// bytes, the tensor's shape and the memory available, never an abort. 2^46 floats (256 TiB) exceed the 128 TiB
// user address space of x86-64 and arm64 Linux, so the allocation really fails even with memory overcommit.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

#include "core/dispatch.h"
#include "core/ops.h"
#include "core/rng.h"
#include "reliability_util.h"

using namespace ganglion;
using reliability::error_of;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif
#else
constexpr bool kAsan = false;
#endif

// ASan's allocator aborts on huge sizes unless told to return null (scripts/sanitize.sh does).
bool asan_aborts_on_huge_alloc() {
  const char* opts = std::getenv("ASAN_OPTIONS");
  return kAsan && (opts == nullptr || std::string(opts).find("allocator_may_return_null=1") == std::string::npos);
}

}  // namespace

TEST_CASE("host out of memory: the op, the bytes, the shape and the free memory are named", "[reliability]") {
  if (asan_aborts_on_huge_alloc()) {
    WARN("SKIPPED: built with AddressSanitizer without ASAN_OPTIONS=allocator_may_return_null=1, so its allocator "
         "aborts on a 256 TiB request");
    return;
  }
  const int64_t side = int64_t{1} << 23;  // side * side = 2^46 floats = 2^48 bytes
  Tensor one = scalar_tensor(1.f);
  std::string e = error_of([&] { expand(one, {side, side}); });
  INFO(e);
  CHECK(e.rfind("expand: out of host memory: asked for 281474976710656 bytes (256.0 TiB)", 0) == 0);
  CHECK(e.find("available (MemAvailable, /proc/meminfo)") != std::string::npos);
  CHECK(e.find("for a float32 tensor of shape [8388608,8388608] on cpu") != std::string::npos);

  e = error_of([&] { zeros({int64_t{1} << 46}); });
  CHECK(e.rfind("full: out of host memory: asked for 281474976710656 bytes", 0) == 0);

  Generator g(1);
  e = error_of([&] { g.randn({side, side}, Device::cpu()); });
  CHECK(e.rfind("randn: out of host memory", 0) == 0);

  // Outside any op the message has no op name but the same facts.
  e = error_of([&] { Tensor::empty({side, side}); });
  CHECK(e.rfind("out of host memory: asked for 281474976710656 bytes", 0) == 0);

  // After a failure the op scope is unwound: a later allocation outside ops is not blamed on expand.
  CHECK(current_op() == std::string());
}

TEST_CASE("a shape whose byte size does not fit 64 bits is refused before allocating", "[reliability]") {
  const int64_t huge = int64_t{1} << 40;
  CHECK(error_of([&] { Tensor::empty({huge, huge}); }) ==
        "a tensor of shape [1099511627776,1099511627776] is too large to address");
}

TEST_CASE("an error inside a CUDA kernel call (scratch out of GPU memory) is named by the op that called it",
          "[reliability]") {
  // GANGLION_DISPATCH routes what a CUDA kernel throws through rethrow_in_op; on a CPU-only machine the function
  // itself is what can be checked.
  const Error oom("device_alloc: out of GPU memory: asked for 1024 bytes (0.0 MiB, block 1024)");
  std::string e = error_of([&] {
    OpScope scope("conv2d");
    rethrow_in_op(oom, "conv2d_forward");
  });
  CHECK(e == "conv2d: device_alloc: out of GPU memory: asked for 1024 bytes (0.0 MiB, block 1024)");
  // Outside any op the kernel's name stands in.
  CHECK(error_of([&] { rethrow_in_op(oom, "conv2d_forward"); }).rfind("conv2d_forward: device_alloc: ", 0) == 0);
  // A message that already names the op is not named twice.
  e = error_of([&] {
    OpScope scope("matmul");
    rethrow_in_op(Error("matmul: out of GPU memory"), "gemm");
  });
  CHECK(e == "matmul: out of GPU memory");
  CHECK(current_op() == std::string());
}
