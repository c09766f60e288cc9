// core/ops_elementwise.cpp — unary math and activations, broadcast binary arithmetic, and their backward written
// in ops (so every one of them is twice differentiable).
#include <algorithm>

#include "core/dispatch.h"
#include "core/ops_util.h"

namespace ganglion {
namespace detail {

void check_defined(const char* op, const Tensor& t, const char* what) {
  if (!t.defined()) throw Error(std::string(op) + ": " + what + " is an undefined tensor");
}

void check_float(const char* op, const Tensor& t) {
  check_defined(op, t);
  if (t.dtype() != DType::F32) {
    throw Error(std::string(op) + ": expected a float32 tensor, got " + dtype_name(t.dtype()) + " " +
                shape_str(t.shape()));
  }
}

void check_same_device(const char* op, std::initializer_list<const Tensor*> ts) {
  const Tensor* first = nullptr;
  bool mixed = false;
  for (const Tensor* t : ts) {
    if (!t || !t->defined()) continue;
    if (!first) first = t;
    else if (t->device() != first->device()) mixed = true;
  }
  if (!mixed) return;
  std::string m = std::string(op) + ": inputs are on different devices (";
  bool sep = false;
  for (const Tensor* t : ts) {
    if (!t || !t->defined()) continue;
    m += (sep ? ", " : "") + shape_str(t->shape()) + " on " + t->device().str();
    sep = true;
  }
  throw Error(m + "); move them with .to(device) first");
}

int64_t normalize_dim(const char* op, int64_t dim, int64_t ndim, const Shape& shape) {
  int64_t d = dim < 0 ? dim + ndim : dim;
  if (d < 0 || d >= ndim) {
    throw Error(std::string(op) + ": dimension " + std::to_string(dim) + " out of range for shape " +
                shape_str(shape));
  }
  return d;
}

void split_at(const Shape& s, int64_t d, int64_t* outer, int64_t* r, int64_t* inner) {
  *outer = 1;
  *inner = 1;
  for (int64_t i = 0; i < d; ++i) *outer *= s[static_cast<size_t>(i)];
  *r = s[static_cast<size_t>(d)];
  for (size_t i = static_cast<size_t>(d) + 1; i < s.size(); ++i) *inner *= s[i];
}

Tensor unary_raw(UnaryOp op, const Tensor& x, float a, float b) {
  Tensor y = Tensor::empty(x.shape(), x.device());
  GANGLION_DISPATCH(x.device(), unary, op, x.data(), y.data(), x.numel(), UnaryParams{a, b});
  return y;
}

Tensor unary_op(const char* name, UnaryOp op, const Tensor& x, float a, float b, UnaryBackward backward) {
  OpScope scope(name);
  check_float(name, x);
  Tensor y = unary_raw(op, x, a, b);
  return record(name, y, {x}, [backward, a, b, x](const Tensor& g, const Tensor& out) {
    return std::vector<Tensor>{backward(g, x, out, a, b)};
  });
}

}  // namespace detail

using detail::unary_op;
using detail::unary_raw;

// ---- Unary ops; each backward is in ops and so differentiable again ----
Tensor neg(const Tensor& a) {
  return unary_op("neg", UnaryOp::Neg, a, 0, 0, [](const Tensor& g, const Tensor&, const Tensor&, float, float) {
    return neg(g);
  });
}
Tensor exp(const Tensor& a) {
  return unary_op("exp", UnaryOp::Exp, a, 0, 0, [](const Tensor& g, const Tensor&, const Tensor& y, float, float) {
    return mul(g, y);
  });
}
Tensor log(const Tensor& a) {
  return unary_op("log", UnaryOp::Log, a, 0, 0, [](const Tensor& g, const Tensor& x, const Tensor&, float, float) {
    return div(g, x);
  });
}
Tensor sqrt(const Tensor& a) {
  return unary_op("sqrt", UnaryOp::Sqrt, a, 0, 0, [](const Tensor& g, const Tensor&, const Tensor& y, float, float) {
    return div(mul_scalar(g, 0.5f), y);
  });
}
Tensor square(const Tensor& a) {
  return unary_op("square", UnaryOp::Square, a, 0, 0,
                  [](const Tensor& g, const Tensor& x, const Tensor&, float, float) { return mul(g, mul_scalar(x, 2.f)); });
}
Tensor pow(const Tensor& a, float p) {
  return unary_op("pow", UnaryOp::Pow, a, p, 0, [](const Tensor& g, const Tensor& x, const Tensor&, float e, float) {
    return mul(g, mul_scalar(pow(x, e - 1.f), e));
  });
}
Tensor abs(const Tensor& a) {
  return unary_op("abs", UnaryOp::Abs, a, 0, 0, [](const Tensor& g, const Tensor& x, const Tensor&, float, float) {
    return mul(g, unary_raw(UnaryOp::Sign, x));
  });
}
Tensor clamp(const Tensor& a, float lo, float hi) {
  if (lo > hi) throw Error("clamp: lower bound " + std::to_string(lo) + " exceeds upper bound " + std::to_string(hi));
  return unary_op("clamp", UnaryOp::Clamp, a, lo, hi, [](const Tensor& g, const Tensor& x, const Tensor&, float l, float h) {
    return mul(g, unary_raw(UnaryOp::ClampMask, x, l, h));
  });
}
Tensor relu(const Tensor& a) {
  return unary_op("relu", UnaryOp::Relu, a, 0, 0, [](const Tensor& g, const Tensor& x, const Tensor&, float, float) {
    return mul(g, unary_raw(UnaryOp::ReluMask, x));
  });
}
Tensor leaky_relu(const Tensor& a, float slope) {
  return unary_op("leaky_relu", UnaryOp::LeakyRelu, a, slope, 0,
                  [](const Tensor& g, const Tensor& x, const Tensor&, float s, float) {
                    return mul(g, unary_raw(UnaryOp::LeakyMask, x, s));
                  });
}
Tensor tanh(const Tensor& a) {
  return unary_op("tanh", UnaryOp::Tanh, a, 0, 0, [](const Tensor& g, const Tensor&, const Tensor& y, float, float) {
    return mul(g, sub(ones_like(y), square(y)));  // 1 - y^2
  });
}
Tensor sigmoid(const Tensor& a) {
  return unary_op("sigmoid", UnaryOp::Sigmoid, a, 0, 0, [](const Tensor& g, const Tensor&, const Tensor& y, float, float) {
    return mul(g, mul(y, add_scalar(neg(y), 1.f)));  // y (1 - y)
  });
}
Tensor softplus(const Tensor& a) {
  return unary_op("softplus", UnaryOp::Softplus, a, 0, 0, [](const Tensor& g, const Tensor& x, const Tensor&, float, float) {
    return mul(g, sigmoid(x));
  });
}
Tensor log_sigmoid(const Tensor& a) {
  return unary_op("log_sigmoid", UnaryOp::LogSigmoid, a, 0, 0,
                  [](const Tensor& g, const Tensor& x, const Tensor&, float, float) { return mul(g, sigmoid(neg(x))); });
}
Tensor add_scalar(const Tensor& a, float s) {
  return unary_op("add_scalar", UnaryOp::AddScalar, a, s, 0,
                  [](const Tensor& g, const Tensor&, const Tensor&, float, float) { return g; });
}
Tensor mul_scalar(const Tensor& a, float s) {
  return unary_op("mul_scalar", UnaryOp::MulScalar, a, s, 0,
                  [](const Tensor& g, const Tensor&, const Tensor&, float k, float) { return mul_scalar(g, k); });
}

// ---- Broadcast binary ops ----
namespace {

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1) {
      throw Error(std::string(op) + ": shapes " + shape_str(a) + " and " + shape_str(b) +
                  " cannot be broadcast together (dimension " + std::to_string(i) + ": " + std::to_string(da) +
                  " vs " + std::to_string(db) + ")");
    }
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// Element strides of `in` (right-aligned) inside `out`, 0 along broadcast dimensions.
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> st(out.size(), 0);
  int64_t stride = 1;
  for (size_t k = 0; k < in.size(); ++k) {
    size_t i = in.size() - 1 - k;
    size_t o = out.size() - 1 - k;
    st[o] = in[i] == 1 ? 0 : stride;
    stride *= in[i];
  }
  return st;
}

}  // namespace

namespace detail {
// Builds the kernel's iteration space, merging neighbouring dimensions that are contiguous in every operand.
BroadcastShape make_broadcast(const char* op, const Shape& out, const Shape& a, const Shape& b) {
  std::vector<int64_t> sa = broadcast_strides(a, out), sb = broadcast_strides(b, out);
  std::vector<int64_t> shp, va, vb;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == 1) continue;
    if (!shp.empty() && va.back() == sa[i] * out[i] && vb.back() == sb[i] * out[i]) {
      shp.back() *= out[i];
      va.back() = sa[i];
      vb.back() = sb[i];
      continue;
    }
    shp.push_back(out[i]);
    va.push_back(sa[i]);
    vb.push_back(sb[i]);
  }
  if (shp.size() > static_cast<size_t>(kMaxDims)) {
    throw Error(std::string(op) + ": broadcast over more than " + std::to_string(kMaxDims) + " dimensions (" +
                shape_str(a) + " with " + shape_str(b) + ")");
  }
  BroadcastShape bs;
  bs.ndim = static_cast<int>(shp.size());
  for (size_t i = 0; i < shp.size(); ++i) {
    bs.shape[i] = shp[i];
    bs.stride_a[i] = va[i];
    bs.stride_b[i] = vb[i];
  }
  return bs;
}
}  // namespace detail

namespace {

Tensor binary_raw(const char* name, BinaryOp op, const Tensor& a, const Tensor& b) {
  OpScope scope(name);
  detail::check_float(name, a);
  detail::check_float(name, b);
  detail::check_same_device(name, {&a, &b});
  Shape out_shape = broadcast_shapes(name, a.shape(), b.shape());
  Tensor out = Tensor::empty(out_shape, a.device());
  if (out.numel() == 0) return out;
  BroadcastShape bs = detail::make_broadcast(name, out_shape, a.shape(), b.shape());
  GANGLION_DISPATCH(a.device(), binary, op, a.data(), b.data(), out.data(), bs);
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_raw("add", BinaryOp::Add, a, b);
  Shape sa = a.shape(), sb = b.shape();
  return record("add", out, {a, b}, [sa, sb](const Tensor& g, const Tensor&) {
    return std::vector<Tensor>{sum_to_shape(g, sa), sum_to_shape(g, sb)};
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_raw("sub", BinaryOp::Sub, a, b);
  Shape sa = a.shape(), sb = b.shape();
  return record("sub", out, {a, b}, [sa, sb](const Tensor& g, const Tensor&) {
    return std::vector<Tensor>{sum_to_shape(g, sa), sum_to_shape(neg(g), sb)};
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_raw("mul", BinaryOp::Mul, a, b);
  return record("mul", out, {a, b}, [a, b](const Tensor& g, const Tensor&) {
    Tensor ga, gb;
    if (a.requires_grad()) ga = sum_to_shape(mul(g, b), a.shape());
    if (b.requires_grad()) gb = sum_to_shape(mul(g, a), b.shape());
    return std::vector<Tensor>{ga, gb};
  });
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_raw("div", BinaryOp::Div, a, b);
  return record("div", out, {a, b}, [a, b](const Tensor& g, const Tensor&) {
    Tensor ga, gb;
    if (a.requires_grad()) ga = sum_to_shape(div(g, b), a.shape());
    if (b.requires_grad()) gb = sum_to_shape(neg(div(mul(g, a), square(b))), b.shape());
    return std::vector<Tensor>{ga, gb};
  });
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& a) { return neg(a); }
Tensor operator+(const Tensor& a, float s) { return add_scalar(a, s); }
Tensor operator-(const Tensor& a, float s) { return add_scalar(a, -s); }
Tensor operator*(const Tensor& a, float s) { return mul_scalar(a, s); }
Tensor operator/(const Tensor& a, float s) { return mul_scalar(a, 1.f / s); }
Tensor operator+(float s, const Tensor& a) { return add_scalar(a, s); }
Tensor operator-(float s, const Tensor& a) { return add_scalar(neg(a), s); }
Tensor operator*(float s, const Tensor& a) { return mul_scalar(a, s); }

}  // namespace ganglion
