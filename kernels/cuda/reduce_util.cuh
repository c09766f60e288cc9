// kernels/cuda/reduce_util.cuh — helpers shared by the CUDA twins that reduce (reduce, layernorm, penalty):
// warp and block all-reductions, and a scoped scratch buffer from the caching allocator. The reductions are
// deterministic: a fixed xor butterfly inside a warp, then the warps combined in index order, so every thread
// of a group ends with the same bits on every run. Private to kernels/cuda/.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

#include "kernels/device.h"

namespace ganglion::cuda {

constexpr int kWarpSize = 32;

__device__ __forceinline__ float shfl_xor(float v, int lane_mask) {
  return __shfl_xor_sync(0xffffffffu, v, lane_mask);
}

struct Plus {
  template <class T>
  __device__ __forceinline__ T operator()(const T& a, const T& b) const {
    return a + b;
  }
};

// All-reduce over each group of TPR consecutive threads of a 1-D block: TPR == 32 (a warp per group, no
// shared memory, no barrier) or TPR == blockDim.x, a multiple of 32 up to 1024 (the whole block; `scratch`
// holds TPR/32 values in shared memory, and every thread of the block must call, since it synchronises).
// `op` must be commutative and associative for the result to be the same in every lane. shfl_xor(T, int)
// must exist for T (found by argument-dependent lookup for structs).
template <int TPR, class T, class Op>
__device__ __forceinline__ T group_reduce(T v, Op op, T* scratch) {
  static_assert(TPR % kWarpSize == 0 && TPR <= 1024, "group_reduce: TPR must be a multiple of 32, <= 1024");
#pragma unroll
  for (int m = kWarpSize / 2; m > 0; m >>= 1) v = op(v, shfl_xor(v, m));
  if constexpr (TPR > kWarpSize) {
    const int warp = static_cast<int>(threadIdx.x) / kWarpSize;
    if (threadIdx.x % kWarpSize == 0) scratch[warp] = v;
    __syncthreads();
    v = scratch[0];
#pragma unroll
    for (int w = 1; w < TPR / kWarpSize; ++w) v = op(v, scratch[w]);
    __syncthreads();  // scratch may be reused by the next call
  } else {
    (void)scratch;
  }
  return v;
}

// A device buffer for partial results, returned to the caching allocator when the scope ends. Frees are
// stream-ordered (kernels/cuda/device.cpp), so kernels enqueued before the end of the scope may still use it.
class DeviceScratch {
 public:
  explicit DeviceScratch(size_t bytes) : p_(device_alloc(bytes)) {}
  ~DeviceScratch() {
    try {
      device_free(p_);
    } catch (...) {  // never throw from a destructor
    }
  }
  DeviceScratch(const DeviceScratch&) = delete;
  DeviceScratch& operator=(const DeviceScratch&) = delete;
  template <class T>
  T* as() const {
    return static_cast<T*>(p_);
  }

 private:
  void* p_;
};

}  // namespace ganglion::cuda
