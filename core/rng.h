// core/rng.h — a seeded Philox4x32-10 generator: (seed, offset) state, fills that advance the offset, and the
// same numbers on CPU and CUDA for the same state.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace ganglion {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0, uint64_t offset = 0) : seed_(seed), offset_(offset) {}
  Tensor randn(const Shape& s, Device d = Device::cpu(), float mean = 0.f, float std = 1.f);
  Tensor rand(const Shape& s, Device d = Device::cpu(), float lo = 0.f, float hi = 1.f);
  void normal_(Tensor& t, float mean = 0.f, float std = 1.f);
  void uniform_(Tensor& t, float lo = 0.f, float hi = 1.f);
  // A uniform integer in [0, n) drawn on the host (shuffling, choices). Advances the offset by one block.
  uint64_t next_index(uint64_t n);
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_state(uint64_t seed, uint64_t offset) { seed_ = seed; offset_ = offset; }

 private:
  uint64_t seed_, offset_;
};

}  // namespace ganglion
