// kernels/common.h — types shared by every kernel family: the stream handle, the error type, and the
// broadcast descriptor. Kernels know nothing of Tensor or autograd: raw pointers, sizes and a stream.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

namespace ganglion {

// The one error type of the whole engine. Messages name the op (or file, or flag) and what was expected.
// Declared at the lowest layer so that kernels (e.g. a failed CUDA launch) can report through it too.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// A stream: cudaStream_t for the CUDA twins, ignored (pass nullptr) by the CPU twins.
using Stream = void*;

constexpr int kMaxDims = 8;

// A broadcast elementwise iteration space. `out` is contiguous with shape[0..ndim); the inputs are read at
// element strides stride_a / stride_b (0 along a broadcast dimension). ndim may be 0 (a scalar).
struct BroadcastShape {
  int ndim = 0;
  int64_t shape[kMaxDims] = {};
  int64_t stride_a[kMaxDims] = {};
  int64_t stride_b[kMaxDims] = {};
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= shape[i];
    return n;
  }
};

}  // namespace ganglion
