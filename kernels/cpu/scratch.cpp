// kernels/cpu/scratch.cpp — the per-thread grow-only scratch buffers of kernels/cpu/scratch.h.
#include "kernels/cpu/scratch.h"

#include <cstdlib>
#include <memory>
#include <string>

#include "kernels/common.h"

namespace ganglion::cpu {
namespace {

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};

struct Buffer {
  std::unique_ptr<float, FreeDeleter> data;
  size_t capacity = 0;  // floats
};

thread_local Buffer t_buffers[static_cast<int>(ScratchSlot::Count)];

}  // namespace

float* thread_scratch(ScratchSlot slot, size_t n) {
  Buffer& b = t_buffers[static_cast<int>(slot)];
  if (n > b.capacity) {
    const size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    b.data.reset();  // release the old buffer first: the peak stays one buffer per slot
    b.capacity = 0;
    float* p = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (!p) throw Error("out of host memory: could not allocate " + std::to_string(bytes) + " bytes of kernel scratch");
    b.data.reset(p);
    b.capacity = n;
  }
  return b.data.get();
}

}  // namespace ganglion::cpu
