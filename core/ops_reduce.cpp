// core/ops_reduce.cpp — sum/mean over dimensions, max over a dimension (with its gather/scatter backward pair),
// and the broadcast pair expand / sum_to_shape that carries gradients across broadcasting.
#include <algorithm>
#include <set>

#include "core/dispatch.h"
#include "core/ops_util.h"
#include "kernels/reduce.h"

namespace ganglion {

using detail::check_float;
using detail::normalize_dim;
using detail::split_at;

namespace {

// Sum over the listed (sorted, distinct) dimensions, keeping them as size 1. Runs of adjacent dimensions are
// reduced by one kernel call.
Tensor sum_keepdim_raw(const Tensor& a, const std::vector<int64_t>& dims, float scale) {
  Tensor cur = a;
  Shape shape = a.shape();
  // Walk runs from the last to the first so earlier dimension indices stay valid.
  size_t i = dims.size();
  bool first = true;
  while (i > 0) {
    size_t j = i - 1;
    while (j > 0 && dims[j - 1] == dims[j] - 1) --j;
    int64_t lo = dims[j], hi = dims[i - 1];
    int64_t outer = 1, r = 1, inner = 1;
    for (int64_t k = 0; k < lo; ++k) outer *= shape[static_cast<size_t>(k)];
    for (int64_t k = lo; k <= hi; ++k) r *= shape[static_cast<size_t>(k)];
    for (size_t k = static_cast<size_t>(hi) + 1; k < shape.size(); ++k) inner *= shape[k];
    for (int64_t k = lo; k <= hi; ++k) shape[static_cast<size_t>(k)] = 1;
    Tensor out = Tensor::empty(shape, a.device());
    GANGLION_DISPATCH(a.device(), sum_axis, cur.data(), out.data(), outer, r, inner, first ? scale : 1.f);
    first = false;
    cur = out;
    i = j;
  }
  if (first) {  // nothing to reduce
    Tensor out = Tensor::empty(shape, a.device());
    GANGLION_DISPATCH(a.device(), unary, UnaryOp::MulScalar, a.data(), out.data(), a.numel(), UnaryParams{scale, 0});
    return out;
  }
  return cur;
}

std::vector<int64_t> normalize_dims(const char* op, const std::vector<int64_t>& dims, const Shape& s) {
  std::set<int64_t> set;
  for (int64_t d : dims) {
    int64_t n = normalize_dim(op, d, static_cast<int64_t>(s.size()), s);
    if (!set.insert(n).second) {
      throw Error(std::string(op) + ": dimension " + std::to_string(d) + " listed twice for shape " + shape_str(s));
    }
  }
  return {set.begin(), set.end()};
}

Shape reduced_shape(const Shape& s, const std::vector<int64_t>& dims, bool keepdim) {
  Shape out;
  for (size_t i = 0; i < s.size(); ++i) {
    bool red = std::find(dims.begin(), dims.end(), static_cast<int64_t>(i)) != dims.end();
    if (!red) out.push_back(s[i]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

Tensor reduce_op(const char* name, const Tensor& a, const std::vector<int64_t>& dims_in, bool keepdim, bool is_mean) {
  OpScope scope(name);
  check_float(name, a);
  std::vector<int64_t> dims = normalize_dims(name, dims_in, a.shape());
  int64_t count = 1;
  for (int64_t d : dims) count *= a.shape()[static_cast<size_t>(d)];
  float scale = is_mean ? (count > 0 ? 1.f / static_cast<float>(count) : 0.f) : 1.f;
  Tensor out = sum_keepdim_raw(a, dims, scale);
  out.impl()->shape = reduced_shape(a.shape(), dims, keepdim);
  Shape in_shape = a.shape();
  Shape keep_shape = reduced_shape(a.shape(), dims, true);
  return record(name, out, {a}, [in_shape, keep_shape, scale](const Tensor& g, const Tensor&) {
    Tensor gk = reshape(g, keep_shape);
    Tensor e = expand(gk, in_shape);
    return std::vector<Tensor>{scale == 1.f ? e : mul_scalar(e, scale)};
  });
}

std::vector<int64_t> all_dims(const Tensor& a) {
  std::vector<int64_t> d(static_cast<size_t>(a.dim()));
  for (int64_t i = 0; i < a.dim(); ++i) d[static_cast<size_t>(i)] = i;
  return d;
}

// Index ops undoing a max along `dim`: scatter puts g at the arg-max positions (zeros elsewhere); gather reads
// them back. Each is the other's backward, so maxout is twice differentiable.
Tensor scatter_op(const Tensor& g, const Tensor& idx, const Shape& full, int64_t dim);
Tensor gather_op(const Tensor& x, const Tensor& idx, int64_t dim) {
  OpScope scope("gather");
  int64_t outer, r, inner;
  split_at(x.shape(), dim, &outer, &r, &inner);
  Shape out_shape = x.shape();
  out_shape[static_cast<size_t>(dim)] = 1;
  Tensor y = Tensor::empty(out_shape, x.device());
  GANGLION_DISPATCH(x.device(), gather_axis, x.data(), idx.data_i32(), y.data(), outer, r, inner);
  Shape full = x.shape();
  return record("gather", y, {x}, [idx, full, dim](const Tensor& gy, const Tensor&) {
    return std::vector<Tensor>{scatter_op(gy, idx, full, dim)};
  });
}
Tensor scatter_op(const Tensor& g, const Tensor& idx, const Shape& full, int64_t dim) {
  OpScope scope("scatter");
  int64_t outer, r, inner;
  split_at(full, dim, &outer, &r, &inner);
  Tensor out = Tensor::empty(full, g.device());
  GANGLION_DISPATCH(g.device(), scatter_axis, g.data(), idx.data_i32(), out.data(), outer, r, inner);
  Shape gshape = g.shape();
  return record("scatter", out, {g}, [idx, dim, gshape](const Tensor& go, const Tensor&) {
    return std::vector<Tensor>{reshape(gather_op(go, idx, dim), gshape)};
  });
}

}  // namespace

Tensor sum(const Tensor& a) { return reduce_op("sum", a, all_dims(a), false, false); }
Tensor sum(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
  return reduce_op("sum", a, dims, keepdim, false);
}
Tensor mean(const Tensor& a) { return reduce_op("mean", a, all_dims(a), false, true); }
Tensor mean(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
  return reduce_op("mean", a, dims, keepdim, true);
}

Tensor max(const Tensor& a, int64_t dim_in, bool keepdim) {
  OpScope scope("max");
  check_float("max", a);
  int64_t dim = normalize_dim("max", dim_in, a.dim(), a.shape());
  if (a.shape()[static_cast<size_t>(dim)] == 0) throw Error("max: dimension " + std::to_string(dim_in) +
                                                             " of shape " + shape_str(a.shape()) + " is empty");
  int64_t outer, r, inner;
  split_at(a.shape(), dim, &outer, &r, &inner);
  Shape keep = a.shape();
  keep[static_cast<size_t>(dim)] = 1;
  Tensor y = Tensor::empty(keep, a.device());
  Tensor idx = Tensor::empty(keep, a.device(), DType::I32);
  GANGLION_DISPATCH(a.device(), max_axis, a.data(), y.data(), idx.data_i32(), outer, r, inner);
  Shape full = a.shape();
  y = record("max", y, {a}, [idx, full, dim](const Tensor& g, const Tensor&) {
    return std::vector<Tensor>{scatter_op(g, idx, full, dim)};
  });
  return keepdim ? y : reshape(y, reduced_shape(full, {dim}, false));
}

Tensor expand(const Tensor& a, const Shape& shape) {
  OpScope scope("expand");
  check_float("expand", a);
  if (a.shape() == shape) return a;
  if (a.dim() > static_cast<int64_t>(shape.size())) {
    throw Error("expand: cannot expand " + shape_str(a.shape()) + " to fewer dimensions " + shape_str(shape));
  }
  for (size_t k = 0; k < a.shape().size(); ++k) {
    int64_t da = a.shape()[a.shape().size() - 1 - k], ds = shape[shape.size() - 1 - k];
    if (da != ds && da != 1) {
      throw Error("expand: cannot expand " + shape_str(a.shape()) + " to " + shape_str(shape));
    }
  }
  Tensor out = Tensor::empty(shape, a.device());
  if (out.numel() > 0) {
    BroadcastShape bs = detail::make_broadcast("expand", shape, a.shape(), a.shape());
    GANGLION_DISPATCH(a.device(), broadcast_copy, a.data(), out.data(), bs);
  }
  Shape in_shape = a.shape();
  return record("expand", out, {a}, [in_shape](const Tensor& g, const Tensor&) {
    return std::vector<Tensor>{sum_to_shape(g, in_shape)};
  });
}

Tensor sum_to_shape(const Tensor& a, const Shape& shape) {
  OpScope scope("sum_to_shape");
  if (a.shape() == shape) return a;
  const Shape& s = a.shape();
  if (shape.size() > s.size()) {
    throw Error("sum_to_shape: cannot reduce " + shape_str(s) + " to more dimensions " + shape_str(shape));
  }
  size_t lead = s.size() - shape.size();
  std::vector<int64_t> dims;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i < lead) {
      dims.push_back(static_cast<int64_t>(i));
    } else if (shape[i - lead] == 1 && s[i] != 1) {
      dims.push_back(static_cast<int64_t>(i));
    } else if (shape[i - lead] != s[i]) {
      throw Error("sum_to_shape: cannot reduce " + shape_str(s) + " to " + shape_str(shape));
    }
  }
  return reshape(sum(a, dims, true), shape);
}

}  // namespace ganglion
