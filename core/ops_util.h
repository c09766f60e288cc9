// core/ops_util.h — helpers shared by the op files (not public API): input checks with op-naming errors,
// dimension normalisation, and the raw (non-recording) unary map used for derivative masks.
#pragma once
#include <string>
#include <vector>

#include "core/ops.h"
#include "kernels/elementwise.h"

namespace ganglion::detail {

void check_defined(const char* op, const Tensor& t, const char* what = "input");
void check_float(const char* op, const Tensor& t);
// All defined tensors on one device; the error lists each tensor's shape and device.
void check_same_device(const char* op, std::initializer_list<const Tensor*> ts);
int64_t normalize_dim(const char* op, int64_t dim, int64_t ndim, const Shape& shape);
// [outer, r, inner] around dimension d of shape.
void split_at(const Shape& s, int64_t d, int64_t* outer, int64_t* r, int64_t* inner);

// The kernel's iteration space for out = f(a, b) with numpy broadcasting (dimensions merged where possible).
BroadcastShape make_broadcast(const char* op, const Shape& out, const Shape& a, const Shape& b);

// y = f(x) with no autograd record (derivative masks, internal use).
Tensor unary_raw(UnaryOp op, const Tensor& x, float a = 0.f, float b = 0.f);
// An elementwise unary op with autograd: `backward(g, x, y)` gives dx.
using UnaryBackward = Tensor (*)(const Tensor& g, const Tensor& x, const Tensor& y, float a, float b);
Tensor unary_op(const char* name, UnaryOp op, const Tensor& x, float a, float b, UnaryBackward backward);

}  // namespace ganglion::detail
