// fuzz/fuzz_input.h — what every fuzz target shares: a cursor over libFuzzer's bytes (a leading options byte,
// length-prefixed parts, the rest) and the rule that a reader may only fail with ganglion::Error. Any other
// exception escapes LLVMFuzzerTestOneInput, and libFuzzer reports it as a crash.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/tensor.h"

namespace ganglion::fuzz {

// Reads the fuzz input front to back; running out of bytes gives zeros and empty parts, never an error, so
// every input is a valid test case.
class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : bytes_(data, size) {}
  uint8_t byte() {
    if (pos_ >= bytes_.size()) return 0;
    return bytes_[pos_++];
  }
  // A little-endian 16-bit length, then that many bytes (cut at the end of the input).
  std::span<const uint8_t> part16() {
    size_t n = byte();
    n |= static_cast<size_t>(byte()) << 8;
    return take(n);
  }
  std::span<const uint8_t> rest() { return take(bytes_.size() - pos_); }

 private:
  std::span<const uint8_t> take(size_t n) {
    n = std::min(n, bytes_.size() - pos_);
    auto out = bytes_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

// Runs a reader on the input: a clear ganglion::Error is the expected way to refuse bad data.
template <class F>
void expect_only_errors(F&& read) {
  try {
    read();
  } catch (const Error&) {
  }
}

}  // namespace ganglion::fuzz
