// kernels/reduce.h — reductions along one axis of a tensor viewed as [outer, r, inner], and the index ops that
// undo a max (gather/scatter of the arg-max). Twins: kernels/cpu/reduce.cpp, kernels/cuda/reduce.cu.
#pragma once
#include "kernels/common.h"

namespace ganglion {

// x is viewed as [outer, r, inner] and y as [outer, inner].
//   sum_axis: y[o,i] = scale * sum_j x[o,j,i] (overwrites).
//   max_axis: y[o,i] = max_j x[o,j,i], idx[o,i] = the first j reaching it; a NaN wins (overwrites both; r >= 1).
//   scatter_axis: out [outer, r, inner]: out[o,j,i] = (j == idx[o,i]) ? g[o,i] : 0 (overwrites all of out).
//   gather_axis: y[o,i] = x[o, idx[o,i], i] (overwrites y).
#define GANGLION_REDUCE_DECLS                                                                                  \
  void sum_axis(Stream s, const float* x, float* y, int64_t outer, int64_t r, int64_t inner, float scale);     \
  void max_axis(Stream s, const float* x, float* y, int32_t* idx, int64_t outer, int64_t r, int64_t inner);   \
  void scatter_axis(Stream s, const float* g, const int32_t* idx, float* out, int64_t outer, int64_t r,       \
                    int64_t inner);                                                                           \
  void gather_axis(Stream s, const float* x, const int32_t* idx, float* y, int64_t outer, int64_t r,          \
                   int64_t inner);

namespace cpu {
GANGLION_REDUCE_DECLS
}
namespace cuda {
GANGLION_REDUCE_DECLS
}

}  // namespace ganglion
