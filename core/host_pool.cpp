// core/host_pool.cpp — the host caching allocator of core/host_pool.h. Sizes round up to a class: multiples of
// 64 bytes up to 4 KiB, above that four classes per power of two (at most 25 % slack). Each class keeps a stack
// of free buffers; the cache is capped (kMaxCachedBytes) and a buffer freed beyond the cap goes back to the
// system.
#include "core/host_pool.h"

#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace ganglion {
namespace {

constexpr size_t kMaxCachedBytes = size_t{2} << 30;  // 2 GiB

size_t size_class(size_t bytes) {
  if (bytes <= 4096) return (bytes + 63) / 64 * 64;
  size_t top = 4096;
  while (top < bytes) top <<= 1;        // bytes in (top/2, top]
  const size_t quarter = top / 8;       // four steps between top/2 and top
  return (bytes + quarter - 1) / quarter * quarter;
}

struct Pool {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free_by_class;
  HostPoolStats stats;

  void release_locked() {
    for (auto& [cls, list] : free_by_class)
      for (void* p : list) std::free(p);
    free_by_class.clear();
    stats.cached_bytes = 0;
  }
};

Pool& pool() {
  static Pool* p = new Pool;  // never destroyed: tensors may be freed during static destruction
  return *p;
}

}  // namespace

void* host_pool_alloc(size_t bytes) {
  if (bytes > (size_t{1} << 62)) return nullptr;  // no host has that much; also keeps size_class from overflowing
  const size_t cls = size_class(bytes);
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  auto it = p.free_by_class.find(cls);
  void* data = nullptr;
  if (it != p.free_by_class.end() && !it->second.empty()) {
    data = it->second.back();
    it->second.pop_back();
    p.stats.cached_bytes -= cls;
  } else {
    data = std::aligned_alloc(64, cls);
    if (!data && p.stats.cached_bytes > 0) {
      p.release_locked();
      data = std::aligned_alloc(64, cls);
    }
    if (!data) return nullptr;
  }
  p.stats.in_use_bytes += cls;
  if (p.stats.in_use_bytes > p.stats.peak_in_use_bytes) p.stats.peak_in_use_bytes = p.stats.in_use_bytes;
  return data;
}

void host_pool_free(void* data, size_t bytes) {
  if (!data) return;
  const size_t cls = size_class(bytes);
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  p.stats.in_use_bytes -= cls;
  if (p.stats.cached_bytes + cls > kMaxCachedBytes) {
    std::free(data);
    return;
  }
  p.free_by_class[cls].push_back(data);
  p.stats.cached_bytes += cls;
}

void host_pool_release_cached() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  p.release_locked();
}

HostPoolStats host_pool_stats() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  return p.stats;
}

}  // namespace ganglion
