// tests/test_host_pool.cpp — the host caching allocator (core/host_pool.h): alignment, reuse of a freed buffer
// of the same size class, the in-use and cached counters, and release of the cache.
#include <catch2/catch.hpp>

#include <cstdint>

#include "core/host_pool.h"
#include "core/tensor.h"

using namespace ganglion;

TEST_CASE("host pool: aligned buffers, reuse by size class, counters and release", "[memory][cpu]") {
  host_pool_release_cached();
  const HostPoolStats before = host_pool_stats();

  void* a = host_pool_alloc(100000);
  REQUIRE(a != nullptr);
  CHECK(reinterpret_cast<std::uintptr_t>(a) % 64 == 0);
  const HostPoolStats held = host_pool_stats();
  CHECK(held.in_use_bytes >= before.in_use_bytes + 100000);
  CHECK(held.in_use_bytes <= before.in_use_bytes + 125000);  // size classes waste at most 25 %

  host_pool_free(a, 100000);
  CHECK(host_pool_stats().in_use_bytes == before.in_use_bytes);
  CHECK(host_pool_stats().cached_bytes >= 100000);
  // A request of the same class gets the cached buffer back; a much larger one does not.
  void* b = host_pool_alloc(99000);
  CHECK(b == a);
  void* c = host_pool_alloc(1000000);
  CHECK(c != a);
  host_pool_free(b, 99000);
  host_pool_free(c, 1000000);

  host_pool_release_cached();
  CHECK(host_pool_stats().cached_bytes == 0);
  CHECK(host_pool_stats().in_use_bytes == before.in_use_bytes);
}

TEST_CASE("host pool: CPU tensors of a freed size come back from the cache", "[memory][cpu]") {
  const void* first = nullptr;
  {
    Tensor t = Tensor::empty({64, 1000}, Device::cpu());
    first = t.data();
  }
  Tensor again = Tensor::empty({64, 1000}, Device::cpu());
  CHECK(again.data() == first);
  CHECK(host_pool_stats().in_use_bytes >= 64 * 1000 * sizeof(float));
}
