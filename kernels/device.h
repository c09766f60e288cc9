// kernels/device.h — the CUDA runtime as the engine sees it: detection, the caching allocator, copies, the
// stream and memory statistics. Implemented in kernels/cuda/device.cpp when CUDA is built, and by
// kernels/cpu/no_cuda.cpp (every call reports that CUDA is absent) when it is not.
#pragma once
#include <cstddef>
#include <string>

#include "kernels/common.h"

namespace ganglion::cuda {

// True when a CUDA device is usable. Decided once (later calls are free); when false, *why (if given) says
// why in words fit for the user, e.g. "CUDA driver not found (insufficient driver)" or "built without CUDA".
bool available(std::string* why = nullptr);
// The device's name, e.g. "NVIDIA H100 80GB HBM3" (requires available()).
std::string device_name();

// The one stream every kernel of this process runs on.
Stream stream();
void synchronize();

// Caching allocator: size-class bins, blocks reused without cudaMalloc on the hot path. An allocation that
// cannot be met even after releasing the cache throws Error naming the bytes asked for and the bytes free.
void* device_alloc(size_t bytes);
void device_free(void* p);
void empty_cache();

struct MemoryStats {
  size_t in_use = 0;    // bytes handed out now
  size_t peak = 0;      // most bytes handed out at once
  size_t reserved = 0;  // bytes held from cudaMalloc (in use + cached)
  size_t allocs = 0;    // cudaMalloc calls so far
};
MemoryStats memory_stats();
void reset_peak();

// Copies on the engine's stream; host-side calls (d2h) synchronise before returning.
void copy_h2d(void* dst, const void* src, size_t bytes);
void copy_d2h(void* dst, const void* src, size_t bytes);
void copy_d2d(void* dst, const void* src, size_t bytes);

}  // namespace ganglion::cuda
