// core/ops_shape.cpp — reshape/flatten (views sharing storage), concat and slice along a dimension (block copies),
// and the in-place copy/fill used by optimisers and loaders.
#include <cstring>

#include "core/dispatch.h"
#include "core/ops_util.h"

namespace ganglion {

using detail::check_defined;
using detail::normalize_dim;
using detail::split_at;

Tensor reshape(const Tensor& a, const Shape& shape_in) {
  check_defined("reshape", a);
  Shape shape = shape_in;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) throw Error("reshape: more than one -1 in " + shape_str(shape_in));
      infer = static_cast<int64_t>(i);
    } else if (shape[i] < 0) {
      throw Error("reshape: negative size in " + shape_str(shape_in));
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || a.numel() % known != 0) {
      throw Error("reshape: cannot reshape " + shape_str(a.shape()) + " (" + std::to_string(a.numel()) +
                  " elements) to " + shape_str(shape_in));
    }
    shape[static_cast<size_t>(infer)] = a.numel() / known;
  }
  if (shape_numel(shape) != a.numel()) {
    throw Error("reshape: cannot reshape " + shape_str(a.shape()) + " (" + std::to_string(a.numel()) +
                " elements) to " + shape_str(shape_in) + " (" + std::to_string(shape_numel(shape)) + " elements)");
  }
  if (shape == a.shape()) return a;
  Tensor v = a.detach();
  v.impl()->shape = shape;
  Shape in_shape = a.shape();
  return record("reshape", v, {a}, [in_shape](const Tensor& g, const Tensor&) {
    return std::vector<Tensor>{reshape(g, in_shape)};
  });
}

Tensor flatten(const Tensor& a, int64_t start_dim) {
  check_defined("flatten", a);
  if (a.dim() == 0) return reshape(a, {1});
  int64_t d = normalize_dim("flatten", start_dim, a.dim(), a.shape());
  Shape s(a.shape().begin(), a.shape().begin() + d);
  int64_t rest = 1;
  for (size_t i = static_cast<size_t>(d); i < a.shape().size(); ++i) rest *= a.shape()[i];
  s.push_back(rest);
  return reshape(a, s);
}

namespace {

// out (zeros) with g copied into [start, start + g.size(dim)) along dim: the backward of slice.
Tensor slice_backward_op(const Tensor& g, const Shape& full, int64_t dim, int64_t start) {
  OpScope scope("slice_backward");
  Tensor out = zeros(full, g.device());
  int64_t outer, r, inner;
  split_at(full, dim, &outer, &r, &inner);
  int64_t len = g.shape()[static_cast<size_t>(dim)];
  if (outer * len * inner > 0) {
    GANGLION_DISPATCH(g.device(), copy_2d, g.data(), len * inner, out.data() + start * inner, r * inner, outer,
                      len * inner);
  }
  int64_t end = start + len;
  return record("slice_backward", out, {g}, [dim, start, end](const Tensor& go, const Tensor&) {
    return std::vector<Tensor>{slice(go, dim, start, end)};
  });
}

}  // namespace

Tensor slice(const Tensor& a, int64_t dim_in, int64_t start, int64_t end) {
  OpScope scope("slice");
  detail::check_float("slice", a);
  int64_t dim = normalize_dim("slice", dim_in, a.dim(), a.shape());
  int64_t n = a.shape()[static_cast<size_t>(dim)];
  if (start < 0 || end > n || start > end) {
    throw Error("slice: range [" + std::to_string(start) + ", " + std::to_string(end) + ") out of bounds for dimension " +
                std::to_string(dim_in) + " of shape " + shape_str(a.shape()));
  }
  int64_t outer, r, inner;
  split_at(a.shape(), dim, &outer, &r, &inner);
  Shape out_shape = a.shape();
  out_shape[static_cast<size_t>(dim)] = end - start;
  Tensor out = Tensor::empty(out_shape, a.device());
  if (out.numel() > 0) {
    GANGLION_DISPATCH(a.device(), copy_2d, a.data() + start * inner, r * inner, out.data(), (end - start) * inner,
                      outer, (end - start) * inner);
  }
  Shape full = a.shape();
  return record("slice", out, {a}, [full, dim, start](const Tensor& g, const Tensor&) {
    return std::vector<Tensor>{slice_backward_op(g, full, dim, start)};
  });
}

Tensor concat(const std::vector<Tensor>& parts, int64_t dim_in) {
  OpScope scope("concat");
  if (parts.empty()) throw Error("concat: no tensors given");
  for (const Tensor& p : parts) detail::check_float("concat", p);
  const Shape& s0 = parts[0].shape();
  int64_t dim = normalize_dim("concat", dim_in, static_cast<int64_t>(s0.size()), s0);
  int64_t total = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Shape& s = parts[i].shape();
    bool ok = s.size() == s0.size();
    for (size_t k = 0; ok && k < s.size(); ++k) ok = (static_cast<int64_t>(k) == dim) || s[k] == s0[k];
    if (!ok) {
      throw Error("concat: tensor " + std::to_string(i) + " has shape " + shape_str(s) + " but tensor 0 has " +
                  shape_str(s0) + " (all dimensions but " + std::to_string(dim_in) + " must match)");
    }
    if (parts[i].device() != parts[0].device()) {
      throw Error("concat: tensor " + std::to_string(i) + " is on " + parts[i].device().str() + " but tensor 0 is on " +
                  parts[0].device().str());
    }
    total += s[static_cast<size_t>(dim)];
  }
  Shape out_shape = s0;
  out_shape[static_cast<size_t>(dim)] = total;
  Tensor out = Tensor::empty(out_shape, parts[0].device());
  int64_t outer, r, inner;
  split_at(out_shape, dim, &outer, &r, &inner);
  int64_t off = 0;
  std::vector<int64_t> starts;
  for (const Tensor& p : parts) {
    int64_t len = p.shape()[static_cast<size_t>(dim)];
    starts.push_back(off);
    if (outer * len * inner > 0) {
      GANGLION_DISPATCH(out.device(), copy_2d, p.data(), len * inner, out.data() + off * inner, r * inner, outer,
                        len * inner);
    }
    off += len;
  }
  starts.push_back(off);
  return record("concat", out, parts, [starts, dim](const Tensor& g, const Tensor&) {
    std::vector<Tensor> gs;
    for (size_t i = 0; i + 1 < starts.size(); ++i) gs.push_back(slice(g, dim, starts[i], starts[i + 1]));
    return gs;
  });
}

void copy_(Tensor& dst, const Tensor& src) {
  check_defined("copy_", dst, "destination");
  check_defined("copy_", src, "source");
  if (dst.shape() != src.shape()) {
    throw Error("copy_: source " + shape_str(src.shape()) + " and destination " + shape_str(dst.shape()) +
                " must have the same shape");
  }
  if (dst.dtype() != src.dtype()) throw Error("copy_: source and destination dtypes differ");
  size_t bytes = static_cast<size_t>(src.numel()) * dtype_size(src.dtype());
  if (bytes == 0) return;
  void* d = static_cast<char*>(dst.impl()->storage->data) + dst.impl()->offset * 4;
  const void* s = static_cast<const char*>(src.impl()->storage->data) + src.impl()->offset * 4;
  if (d == s) return;
  if (dst.device().is_cpu() && src.device().is_cpu()) std::memmove(d, s, bytes);
  else if (dst.device().is_cuda() && src.device().is_cpu()) cuda::copy_h2d(d, s, bytes);
  else if (dst.device().is_cpu()) cuda::copy_d2h(d, s, bytes);
  else cuda::copy_d2d(d, s, bytes);
}

void fill_(Tensor& t, float v) {
  detail::check_float("fill_", t);
  GANGLION_DISPATCH(t.device(), fill, t.data(), t.numel(), v);
}

}  // namespace ganglion
