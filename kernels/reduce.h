// kernels/reduce.h — reductions along one axis of a tensor viewed as [outer, r, inner], and the index ops that
// undo a max (gather/scatter of the arg-max). Twins: kernels/cpu/reduce.cpp, kernels/cuda/reduce.cu.
#pragma once
#include "kernels/common.h"

namespace ganglion {

namespace cpu {
// x is [outer, r, inner]; y is [outer, inner]. Ensures y[o,i] = scale * sum_j x[o,j,i] (overwrites).
void sum_axis(Stream s, const float* x, float* y, int64_t outer, int64_t r, int64_t inner, float scale);
// Ensures y[o,i] = max_j x[o,j,i] and idx[o,i] = the first j reaching it (overwrites both). Requires r >= 1.
void max_axis(Stream s, const float* x, float* y, int32_t* idx, int64_t outer, int64_t r, int64_t inner);
// out is [outer, r, inner]. Ensures out[o,j,i] = (j == idx[o,i]) ? g[o,i] : 0 (overwrites all of out).
void scatter_axis(Stream s, const float* g, const int32_t* idx, float* out, int64_t outer, int64_t r, int64_t inner);
// Ensures y[o,i] = x[o, idx[o,i], i] (overwrites y).
void gather_axis(Stream s, const float* x, const int32_t* idx, float* y, int64_t outer, int64_t r, int64_t inner);
}  // namespace cpu

namespace cuda {
void sum_axis(Stream s, const float* x, float* y, int64_t outer, int64_t r, int64_t inner, float scale);
void max_axis(Stream s, const float* x, float* y, int32_t* idx, int64_t outer, int64_t r, int64_t inner);
void scatter_axis(Stream s, const float* g, const int32_t* idx, float* out, int64_t outer, int64_t r, int64_t inner);
void gather_axis(Stream s, const float* x, const int32_t* idx, float* y, int64_t outer, int64_t r, int64_t inner);
}  // namespace cuda

}  // namespace ganglion
