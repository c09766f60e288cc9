// core/host_pool.h — a caching allocator for host (CPU) tensor buffers. Freed buffers are kept in size-class
// bins and handed out again, so a training step that allocates the same shapes every iteration stops calling
// the system allocator, page-faulting fresh pages in and zeroing them. Buffers are 64-byte aligned. Thread-safe.
#pragma once
#include <cstddef>

namespace ganglion {

// A 64-byte aligned buffer of at least `bytes` bytes (bytes > 0), or nullptr when the memory cannot be had even
// after releasing the cache (the caller reports the error with its own context).
void* host_pool_alloc(size_t bytes);

// Returns a buffer from host_pool_alloc; `bytes` must be the size it was asked for.
void host_pool_free(void* data, size_t bytes);

// Frees every cached (not in use) buffer back to the system.
void host_pool_release_cached();

struct HostPoolStats {
  size_t in_use_bytes = 0;  // size-class bytes handed out and not yet returned
  size_t cached_bytes = 0;  // bytes held in the bins for reuse
  size_t peak_in_use_bytes = 0;
};
HostPoolStats host_pool_stats();

}  // namespace ganglion
