// kernels/cpu/no_cuda.cpp — kernels/device.h for a build without CUDA: detection says so, queries answer empty,
// and anything that would need device memory throws. CMake leaves this file out when CUDA is built.
#include "kernels/device.h"

namespace ganglion::cuda {
namespace {

[[noreturn]] void absent(const char* what) {
  throw Error(std::string("cuda::") + what + ": CUDA is not available in this build");
}

}  // namespace

bool available(std::string* why) {
  if (why) *why = "built without CUDA (nvcc was not found at build time)";
  return false;
}

std::string device_name() { return ""; }

Stream stream() { return nullptr; }
void synchronize() {}

void* device_alloc(size_t) { absent("device_alloc"); }
void device_free(void*) { absent("device_free"); }
void empty_cache() {}

MemoryStats memory_stats() { return MemoryStats{}; }
void reset_peak() {}

void copy_h2d(void*, const void*, size_t) { absent("copy_h2d"); }
void copy_d2h(void*, const void*, size_t) { absent("copy_d2h"); }
void copy_d2d(void*, const void*, size_t) { absent("copy_d2d"); }

}  // namespace ganglion::cuda
