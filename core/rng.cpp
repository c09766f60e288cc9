// core/rng.cpp — the Generator: Philox fills on the tensor's device, advancing the offset by the blocks used.
#include "core/rng.h"

#include "core/dispatch.h"
#include "kernels/philox.h"
#include "kernels/rng.h"

namespace ganglion {

void Generator::normal_(Tensor& t, float mean, float std) {
  if (t.dtype() != DType::F32) throw Error("normal_: expected a float32 tensor");
  if (t.numel() == 0) return;
  GANGLION_DISPATCH(t.device(), philox_normal, t.data(), t.numel(), seed_, offset_, mean, std);
  offset_ += philox_blocks(t.numel());
}

void Generator::uniform_(Tensor& t, float lo, float hi) {
  if (t.dtype() != DType::F32) throw Error("uniform_: expected a float32 tensor");
  if (t.numel() == 0) return;
  GANGLION_DISPATCH(t.device(), philox_uniform, t.data(), t.numel(), seed_, offset_, lo, hi);
  offset_ += philox_blocks(t.numel());
}

Tensor Generator::randn(const Shape& s, Device d, float mean, float std) {
  OpScope scope("randn");
  Tensor t = Tensor::empty(s, d);
  normal_(t, mean, std);
  return t;
}

Tensor Generator::rand(const Shape& s, Device d, float lo, float hi) {
  OpScope scope("rand");
  Tensor t = Tensor::empty(s, d);
  uniform_(t, lo, hi);
  return t;
}

uint64_t Generator::next_index(uint64_t n) {
  if (n == 0) throw Error("next_index: empty range");
  philox::U4 u = philox::block(seed_, offset_, 0);
  ++offset_;
  uint64_t r = (static_cast<uint64_t>(u.x) << 32) | u.y;
  return r % n;
}

}  // namespace ganglion
