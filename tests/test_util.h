// tests/test_util.h — helpers shared by the Catch2 tests: golden cases from tests/golden/data, tensor comparison
// that names the tensor and the worst element, deterministic random inputs (independent of the engine's RNG),
// and central-difference gradient checks (first order, and second order through grad(create_graph=true)).
#pragma once
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/safetensors.h"
#include "core/tensor.h"

namespace gtest {

using namespace ganglion;

// ---- Golden cases ----

inline std::string golden_path(const std::string& file) { return std::string(GANGLION_TEST_DATA) + "/" + file; }

struct Golden {
  std::string file;
  TensorMap t;
  std::map<std::string, std::string> meta;

  bool has(const std::string& k) const { return t.count(k) != 0; }
  // The tensor named k; a failed REQUIRE when the file lacks it.
  const Tensor& operator[](const std::string& k) const {
    INFO(file << " has no tensor '" << k << "'");
    REQUIRE(has(k));
    return t.at(k);
  }
  // Undefined when absent (optional inputs such as a bias).
  Tensor opt(const std::string& k) const { return has(k) ? t.at(k) : Tensor(); }
  std::string str(const std::string& k) const {
    INFO(file << " has no metadata '" << k << "'");
    REQUIRE(meta.count(k) != 0);
    return meta.at(k);
  }
  float f(const std::string& k) const { return std::stof(str(k)); }
  int64_t i(const std::string& k) const { return std::stoll(str(k)); }
  bool b(const std::string& k) const { return i(k) != 0; }
  std::vector<int64_t> ints(const std::string& k) const {
    std::vector<int64_t> out;
    std::stringstream ss(str(k));
    std::string item;
    while (std::getline(ss, item, ',')) out.push_back(std::stoll(item));
    return out;
  }
};

inline Golden load_golden(const std::string& file) {
  Golden g;
  g.file = file;
  g.t = load_safetensors(golden_path(file), &g.meta);
  return g;
}

// ---- Comparison ----

// err_i = |got_i - want_i| / (|want_i| + atol), with atol = atol_frac * max|want| + 1e-5 (so values that cancel
// to near zero are judged against the tensor's scale). Passes when max_i err_i <= rel. On failure the Catch2
// message names the tensor, the worst index, both values and the error. Returns whether it passed.
bool check_close(const Tensor& got, const Tensor& want, const std::string& what, double rel = 1e-4,
                 double atol_frac = 1e-2);

// Max over elements of the error used by check_close (for reporting).
double max_rel_err(const Tensor& got, const Tensor& want, double atol_frac = 1e-2, int64_t* worst = nullptr);

// "[i,j,k]" of flat index `flat` in `shape`.
std::string index_str(const Shape& shape, int64_t flat);

// ---- Deterministic random tensors (a 64-bit LCG/xorshift, not the engine's Philox) ----

std::vector<float> rnd_vec(int64_t n, uint64_t seed, float lo = -1.f, float hi = 1.f);
Tensor rnd(const Shape& s, uint64_t seed, float lo = -1.f, float hi = 1.f);
// Like rnd, then moves any value within `margin` of a kink to 2*margin from it (central differences stay valid).
Tensor rnd_away(const Shape& s, uint64_t seed, float lo, float hi, const std::vector<float>& kinks,
                float margin = 0.05f);
// Distinct values well apart (a shuffled ramp with jitter) so max() has no near ties.
Tensor rnd_distinct(const Shape& s, uint64_t seed, float step = 0.1f);

// ---- Gradient checks ----

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

struct GradcheckOptions {
  float eps = 1e-3f;
  double rel = 1e-2;
  double abs = 1e-3;
  uint64_t seed = 12345;  // for the random weights r of the scalar sum(f(x) * r)
};

// Checks d/dx_k of s(x) = sum(f(x) * r) (r fixed random, s accumulated in double on the host) for every element
// of every input against grad({f(x)}, inputs, {r}) by central differences. The inputs must be CPU float32
// leaves; they are set to require grad and restored after each perturbation. f may itself call grad() (second
// order). Returns whether every element passed; failures name the check, the input, the index and both values.
bool gradcheck(const std::string& name, const Fn& f, std::vector<Tensor> inputs, const GradcheckOptions& o = {});

// h(x) = sum_k sum(grad(sum(f(x) * r), x_k, create_graph=true)^2) over the inputs listed in `wrt` (all when
// empty): a scalar whose gradient needs the double backward of every op in f.
Fn grad_norm_fn(const Fn& f, uint64_t seed = 777, std::vector<size_t> wrt = {});

// Second-order check: gradcheck of grad_norm_fn(f).
bool gradgradcheck(const std::string& name, const Fn& f, std::vector<Tensor> inputs, const GradcheckOptions& o = {},
                   std::vector<size_t> wrt = {});

// ---- Implementations ----

inline std::string index_str(const Shape& shape, int64_t flat) {
  std::vector<int64_t> idx(shape.size());
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    int64_t n = shape[d] > 0 ? shape[d] : 1;
    idx[d] = flat % n;
    flat /= n;
  }
  std::string s = "[";
  for (size_t d = 0; d < idx.size(); ++d) {
    if (d) s += ',';
    s += std::to_string(idx[d]);
  }
  return s + "]";
}

inline double max_rel_err(const Tensor& got, const Tensor& want, double atol_frac, int64_t* worst) {
  std::vector<float> a = got.to_vector(), b = want.to_vector();
  double scale = 0;
  for (float v : b) scale = std::max(scale, std::fabs(static_cast<double>(v)));
  const double atol = atol_frac * scale + 1e-5;
  double err = 0;
  if (worst) *worst = -1;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    double e = std::fabs(static_cast<double>(a[i]) - b[i]) / (std::fabs(static_cast<double>(b[i])) + atol);
    if (!(e <= err)) {  // also catches NaN
      err = std::isnan(e) ? INFINITY : e;
      if (worst) *worst = static_cast<int64_t>(i);
    }
  }
  return err;
}

inline bool check_close(const Tensor& got, const Tensor& want, const std::string& what, double rel,
                        double atol_frac) {
  if (!got.defined()) {
    FAIL_CHECK(what << ": result is undefined");
    return false;
  }
  if (got.shape() != want.shape()) {
    FAIL_CHECK(what << ": shape " << shape_str(got.shape()) << ", expected " << shape_str(want.shape()));
    return false;
  }
  int64_t worst = -1;
  double err = max_rel_err(got, want, atol_frac, &worst);
  if (err <= rel) return true;
  std::vector<float> a = got.to_vector(), b = want.to_vector();
  FAIL_CHECK(what << ": max error " << err << " (allowed " << rel << ") at " << index_str(want.shape(), worst)
                  << ": got " << a[worst] << ", expected " << b[worst]);
  return false;
}

inline uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline std::vector<float> rnd_vec(int64_t n, uint64_t seed, float lo, float hi) {
  std::vector<float> v(static_cast<size_t>(n));
  uint64_t s = seed * 0x2545F4914F6CDD1Dull + 1;
  for (auto& x : v) x = lo + (hi - lo) * static_cast<float>((splitmix(s) >> 40) * (1.0 / 16777216.0));
  return v;
}

inline Tensor rnd(const Shape& s, uint64_t seed, float lo, float hi) {
  return from_vector(rnd_vec(shape_numel(s), seed, lo, hi), s);
}

inline Tensor rnd_away(const Shape& s, uint64_t seed, float lo, float hi, const std::vector<float>& kinks,
                       float margin) {
  std::vector<float> v = rnd_vec(shape_numel(s), seed, lo, hi);
  for (float& x : v)
    for (float k : kinks)
      if (std::fabs(x - k) < margin) x = k + (x >= k ? 2 * margin : -2 * margin);
  return from_vector(v, s);
}

inline Tensor rnd_distinct(const Shape& s, uint64_t seed, float step) {
  int64_t n = shape_numel(s);
  std::vector<float> v(static_cast<size_t>(n));
  uint64_t st = seed + 99;
  for (int64_t i = 0; i < n; ++i) v[i] = (static_cast<float>(i) - n / 2.f) * step;
  for (int64_t i = n - 1; i > 0; --i) std::swap(v[i], v[splitmix(st) % static_cast<uint64_t>(i + 1)]);
  std::vector<float> jitter = rnd_vec(n, seed, -0.2f * step, 0.2f * step);
  for (int64_t i = 0; i < n; ++i) v[i] += jitter[i];
  return from_vector(v, s);
}

// sum(out * r) in double on the host.
inline double weighted_sum(const Tensor& out, const std::vector<float>& r) {
  std::vector<float> o = out.to_vector();
  double s = 0;
  for (size_t i = 0; i < o.size(); ++i) s += static_cast<double>(o[i]) * r[i];
  return s;
}

inline bool gradcheck(const std::string& name, const Fn& f, std::vector<Tensor> inputs, const GradcheckOptions& o) {
  for (Tensor& x : inputs) x.set_requires_grad(true);
  Tensor out = f(inputs);
  std::vector<float> r = rnd_vec(out.numel(), o.seed, -1.f, 1.f);
  Tensor rt = from_vector(r, out.shape());
  std::vector<Tensor> ana = grad({out}, inputs, {rt}, false, /*allow_unused=*/true);
  bool ok = true;
  for (size_t k = 0; k < inputs.size(); ++k) {
    Tensor& x = inputs[k];
    std::vector<float> a = ana[k].defined() ? ana[k].to_vector() : std::vector<float>(x.numel(), 0.f);
    double worst_err = 0;
    int64_t worst = -1;
    double worst_num = 0;
    for (int64_t j = 0; j < x.numel(); ++j) {
      float* p = x.data() + j;
      const float v = *p;
      const float hi = v + o.eps, lo = v - o.eps;
      *p = hi;
      double sp = weighted_sum(f(inputs), r);
      *p = lo;
      double sm = weighted_sum(f(inputs), r);
      *p = v;
      double num = (sp - sm) / (static_cast<double>(hi) - lo);
      double e = std::fabs(num - a[j]) / (o.abs + o.rel * std::fabs(static_cast<double>(a[j])));
      if (!(e <= worst_err)) {
        worst_err = std::isnan(e) ? INFINITY : e;
        worst = j;
        worst_num = num;
      }
    }
    if (worst_err > 1.0) {
      ok = false;
      FAIL_CHECK(name << ": d/d(input " << k << " " << shape_str(x.shape()) << ") at " << index_str(x.shape(), worst)
                      << ": analytic " << a[worst] << ", numeric " << worst_num << " (tolerance abs " << o.abs
                      << " + rel " << o.rel << ")");
    }
  }
  return ok;
}

inline Fn grad_norm_fn(const Fn& f, uint64_t seed, std::vector<size_t> wrt) {
  return [f, seed, wrt](const std::vector<Tensor>& xs) {
    Tensor out = f(xs);
    Tensor r = rnd(out.shape(), seed);
    std::vector<Tensor> sel;
    if (wrt.empty()) {
      sel = xs;
    } else {
      for (size_t k : wrt) sel.push_back(xs[k]);
    }
    std::vector<Tensor> gs = grad({out}, sel, {r}, /*create_graph=*/true, /*allow_unused=*/true);
    Tensor h;
    for (const Tensor& g : gs) {
      if (!g.defined()) continue;
      Tensor s = sum(square(g));
      h = h.defined() ? add(h, s) : s;
    }
    return h;
  };
}

inline bool gradgradcheck(const std::string& name, const Fn& f, std::vector<Tensor> inputs, const GradcheckOptions& o,
                          std::vector<size_t> wrt) {
  return gradcheck(name + " (second order)", grad_norm_fn(f, o.seed + 1, std::move(wrt)), std::move(inputs), o);
}

}  // namespace gtest
