// benchmarks/kernels/conv_reference.h — the conv lab's validation reference: each output element of the three
// convolution directions computed straight from the definition (the 7-loop convolution, one element at a time,
// in double), checked at every element or at a random sample of them.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/conv.h"

namespace ganglion::lab {

enum class ConvDir { Forward, BackwardData, BackwardWeight };
const char* conv_dir_name(ConvDir d);  // "fwd", "bwd-data", "bwd-weight"

// The operands of one direction: (a, b) -> out, as kernels/conv.h orders them:
//   Forward: (x, w) -> y;  BackwardData: (dy, w) -> dx;  BackwardWeight: (x, dy) -> dw.
int64_t conv_out_count(ConvDir d, const ConvShape& c);

// Output element `index` of direction d from the definition, in double:
//   y[n,k,p,q]  = sum_{c,r,s} x[n,c,p*sh-ph+r*dh, q*sw-pw+s*dw] * w[k,c,r,s]
//   dx[n,c,h,w] = sum_{k,r,s: (h+ph-r*dh) = p*sh, 0<=p<P (and likewise w)} dy[n,k,p,q] * w[k,c,r,s]
//   dw[k,c,r,s] = sum_{n,p,q} x[n,c,p*sh-ph+r*dh, q*sw-pw+s*dw] * dy[n,k,p,q]
// (input pixels outside [0,H) x [0,W) are zero padding).
double conv_reference_at(ConvDir d, const ConvShape& c, const float* a, const float* b, int64_t index);

// Output indices to check: all of them when `all`, else `samples` drawn at random (with the first and the last).
std::vector<int64_t> check_indices(int64_t count, bool all, int64_t samples, uint64_t seed);

// max rel err (lab_util.h's ErrorMeter) of `out` against the reference at `indices`.
double conv_reference_error(ConvDir d, const ConvShape& c, const float* a, const float* b, const float* out,
                            const std::vector<int64_t>& indices);

}  // namespace ganglion::lab
