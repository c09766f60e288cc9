// tests/test_cuda_runtime.cpp — the CUDA runtime layer (detection, caching allocator, copies) and every CUDA twin
// of the elementwise, reduce, gemm, layernorm, optim, rng and penalty families against its CPU twin, at odd
// sizes and on the split/fast paths. Tagged [cuda]; without a usable GPU each case says so and is skipped.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/device.h"

#if defined(GANGLION_HAS_CUDA)
#include "kernels/elementwise.h"
#include "kernels/gemm.h"
#include "kernels/layernorm.h"
#include "kernels/optim.h"
#include "kernels/penalty.h"
#include "kernels/reduce.h"
#include "kernels/rng.h"
#endif

namespace {

namespace gc = ganglion::cuda;

bool have_gpu() {
  std::string why;
  if (gc::available(&why)) return true;
  WARN("skipped: " + why);
  return false;
}

// A device buffer of T filled from / read back to host vectors.
template <class T>
struct DevBuf {
  T* p = nullptr;
  size_t n = 0;
  explicit DevBuf(size_t count) : p(static_cast<T*>(gc::device_alloc(count * sizeof(T)))), n(count) {}
  explicit DevBuf(const std::vector<T>& h) : DevBuf(h.size()) { gc::copy_h2d(p, h.data(), n * sizeof(T)); }
  ~DevBuf() { gc::device_free(p); }
  DevBuf(const DevBuf&) = delete;
  DevBuf& operator=(const DevBuf&) = delete;
  std::vector<T> get() const {
    std::vector<T> h(n);
    gc::copy_d2h(h.data(), p, n * sizeof(T));
    return h;
  }
};

}  // namespace

TEST_CASE("cuda runtime: detection is stable and names the device", "[cuda]") {
  std::string why1, why2;
  const bool a = gc::available(&why1), b = gc::available(&why2);
  CHECK(a == b);
  CHECK(why1 == why2);
  if (!a) {
    CHECK(!why1.empty());
    WARN("skipped: " + why1);
    return;
  }
  CHECK(!gc::device_name().empty());
  CHECK(gc::stream() == gc::stream());
}

TEST_CASE("cuda runtime: caching allocator reuses blocks and keeps statistics", "[cuda]") {
  if (!have_gpu()) return;
  gc::empty_cache();
  const gc::MemoryStats s0 = gc::memory_stats();
  void* a = gc::device_alloc(1000);  // a 1024-byte class
  const gc::MemoryStats s1 = gc::memory_stats();
  CHECK(s1.in_use == s0.in_use + 1024);
  CHECK(s1.allocs == s0.allocs + 1);
  CHECK(s1.reserved == s0.reserved + 1024);
  CHECK(s1.peak >= s1.in_use);
  gc::device_free(a);
  CHECK(gc::memory_stats().in_use == s0.in_use);
  CHECK(gc::memory_stats().reserved == s1.reserved);  // cached, not released
  void* b = gc::device_alloc(1020);                    // same class: reused without cudaMalloc
  CHECK(b == a);
  CHECK(gc::memory_stats().allocs == s1.allocs);
  void* big = gc::device_alloc((size_t(3) << 20) + 5);  // a 4 MiB class
  CHECK(gc::memory_stats().in_use == s0.in_use + 1024 + (size_t(4) << 20));
  const size_t peak = gc::memory_stats().peak;
  gc::device_free(big);
  gc::device_free(b);
  CHECK(gc::memory_stats().peak == peak);
  gc::reset_peak();
  CHECK(gc::memory_stats().peak == gc::memory_stats().in_use);
  gc::empty_cache();
  CHECK(gc::memory_stats().reserved == gc::memory_stats().in_use);  // nothing cached any more
  CHECK(gc::device_alloc(0) == nullptr);
  gc::device_free(nullptr);
}

// Kept apart (tag [oom]) so that compute-sanitizer runs can leave out the deliberate failed cudaMalloc.
TEST_CASE("cuda runtime: an impossible allocation is a clear error", "[cuda][oom]") {
  if (!have_gpu()) return;
  const size_t in_use = gc::memory_stats().in_use;
  CHECK_THROWS_AS(gc::device_alloc(size_t(1) << 50), ganglion::Error);  // 1 PiB: a clear error, no crash
  CHECK(gc::memory_stats().in_use == in_use);
}

TEST_CASE("cuda runtime: copies round trip", "[cuda]") {
  if (!have_gpu()) return;
  std::vector<float> h(12345);
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<float>(i) * 0.5f - 7.f;
  DevBuf<float> a(h), b(h.size());
  gc::copy_d2d(b.p, a.p, h.size() * sizeof(float));
  CHECK(b.get() == h);
  gc::synchronize();
}

#if defined(GANGLION_HAS_CUDA)

namespace {

std::vector<float> random_vec(size_t n, float lo, float hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// |got - want| <= atol + rtol*|want| everywhere (NaN matches NaN); reports the first mismatch.
void check_close(const std::vector<float>& got, const std::vector<float>& want, float rtol, float atol,
                 const std::string& what) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const float g = got[i], w = want[i];
    const bool ok = (std::isnan(g) && std::isnan(w)) || (std::isinf(w) && g == w) ||
                    std::fabs(g - w) <= atol + rtol * std::fabs(w);
    if (!ok) {
      FAIL_CHECK(what << ": element " << i << " got " << g << " want " << w);
      return;
    }
  }
  SUCCEED(what);
}

// The BroadcastShape of out = f(a, b) for row-major shapes (numpy rules, aligned at the right).
ganglion::BroadcastShape bshape(std::vector<int64_t> a, std::vector<int64_t> b) {
  const size_t nd = std::max(a.size(), b.size());
  a.insert(a.begin(), nd - a.size(), 1);
  b.insert(b.begin(), nd - b.size(), 1);
  ganglion::BroadcastShape s;
  s.ndim = static_cast<int>(nd);
  int64_t sa = 1, sb = 1;
  for (int d = static_cast<int>(nd) - 1; d >= 0; --d) {
    s.shape[d] = std::max(a[d], b[d]);
    s.stride_a[d] = a[d] == 1 ? 0 : sa;
    s.stride_b[d] = b[d] == 1 ? 0 : sb;
    sa *= a[d];
    sb *= b[d];
  }
  return s;
}

int64_t prod(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (auto x : v) p *= x;
  return p;
}

}  // namespace

TEST_CASE("cuda twins: unary ops match the CPU", "[cuda]") {
  if (!have_gpu()) return;
  using U = ganglion::UnaryOp;
  const std::vector<U> ops = {U::Neg,     U::Exp,        U::Log,      U::Sqrt,      U::Rsqrt,     U::Reciprocal,
                              U::Square,  U::Abs,        U::Sign,     U::Relu,      U::LeakyRelu, U::Tanh,
                              U::Sigmoid, U::Softplus,   U::LogSigmoid, U::Pow,     U::Clamp,     U::AddScalar,
                              U::MulScalar, U::Affine,   U::ReluMask, U::LeakyMask, U::ClampMask};
  const ganglion::UnaryParams p{0.3f, 0.7f};
  for (int64_t n : {int64_t(1), int64_t(1003), int64_t(4096)}) {
    std::vector<float> x = random_vec(static_cast<size_t>(n) + 1, -30.f, 30.f, 7);
    x[0] = 0.f;
    for (U op : ops) {
      std::vector<float> in = x;
      if (op == U::Log || op == U::Sqrt || op == U::Rsqrt || op == U::Pow)
        for (auto& v : in) v = std::fabs(v) + 0.01f;
      DevBuf<float> dx(in), dy(in.size());
      // offset 1 exercises the unaligned path, offset 0 the float4 path
      for (int off : {0, 1}) {
        std::vector<float> want(in.size(), 0.f);
        ganglion::cpu::unary(nullptr, op, in.data() + off, want.data() + off, n, p);
        gc::fill(gc::stream(), dy.p, static_cast<int64_t>(dy.n), 0.f);
        gc::unary(gc::stream(), op, dx.p + off, dy.p + off, n, p);
        check_close(dy.get(), want, 2e-6f, 1e-6f, "unary op " + std::to_string(static_cast<int>(op)));
      }
    }
  }
}

TEST_CASE("cuda twins: binary broadcast, broadcast_copy, fill, copy_2d match the CPU", "[cuda]") {
  if (!have_gpu()) return;
  using B = ganglion::BinaryOp;
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> shapes = {
      {{5, 7}, {5, 7}},       {{4, 3, 5}, {1, 3, 1}}, {{1}, {33, 9}},          {{33, 9}, {1}},
      {{2, 1, 4}, {1, 3, 1}}, {{}, {}},               {{6, 1, 5, 3}, {7, 1, 1}}, {{3, 1025}, {3, 1}}};
  for (const auto& [sa, sb] : shapes) {
    const ganglion::BroadcastShape s = bshape(sa, sb);
    std::vector<float> a = random_vec(static_cast<size_t>(prod(sa)), -2.f, 2.f, 1);
    std::vector<float> b = random_vec(static_cast<size_t>(prod(sb)), 0.5f, 2.f, 2);
    if (a.size() > 2) a[1] = std::numeric_limits<float>::quiet_NaN();
    DevBuf<float> da(a), db(b), dout(static_cast<size_t>(s.numel()));
    for (B op : {B::Add, B::Sub, B::Mul, B::Div, B::Maximum, B::Minimum}) {
      std::vector<float> want(dout.n);
      ganglion::cpu::binary(nullptr, op, a.data(), b.data(), want.data(), s);
      gc::binary(gc::stream(), op, da.p, db.p, dout.p, s);
      check_close(dout.get(), want, 1e-6f, 0.f, "binary op " + std::to_string(static_cast<int>(op)));
    }
    std::vector<float> want(dout.n);
    ganglion::cpu::broadcast_copy(nullptr, a.data(), want.data(), s);
    gc::broadcast_copy(gc::stream(), da.p, dout.p, s);
    check_close(dout.get(), want, 0.f, 0.f, "broadcast_copy");
  }
  DevBuf<float> f(1001);
  gc::fill(gc::stream(), f.p, 1001, 2.5f);
  CHECK(f.get() == std::vector<float>(1001, 2.5f));
  // copy_2d: a 37 x 29 block between buffers with different leading dimensions, and the contiguous case.
  std::vector<float> src = random_vec(40 * 50, -1.f, 1.f, 3), dst0 = random_vec(45 * 31, -1.f, 1.f, 4);
  DevBuf<float> dsrc(src), ddst(dst0);
  std::vector<float> want = dst0;
  ganglion::cpu::copy_2d(nullptr, src.data() + 3, 50, want.data() + 2, 31, 37, 29);
  gc::copy_2d(gc::stream(), dsrc.p + 3, 50, ddst.p + 2, 31, 37, 29);
  CHECK(ddst.get() == want);
  ganglion::cpu::copy_2d(nullptr, src.data(), 29, want.data(), 29, 10, 29);
  gc::copy_2d(gc::stream(), dsrc.p, 29, ddst.p, 29, 10, 29);
  CHECK(ddst.get() == want);
}

TEST_CASE("cuda twins: sum/max along an axis, scatter and gather match the CPU", "[cuda]") {
  if (!have_gpu()) return;
  struct Dims {
    int64_t outer, r, inner;
  };
  // row kernels (warp and block), the r-split paths (rows and columns), tiles with ragged edges
  for (Dims d : {Dims{1, 1, 1}, Dims{7, 33, 1}, Dims{3, 50000, 1}, Dims{1, 300001, 1}, Dims{2, 5000, 3},
                 Dims{4, 17, 65}, Dims{1, 64, 1000}, Dims{5, 1, 7}, Dims{1000, 3, 1}}) {
    const size_t n = static_cast<size_t>(d.outer * d.r * d.inner), m = static_cast<size_t>(d.outer * d.inner);
    std::vector<float> x = random_vec(n, -1.f, 1.f, 11);
    for (size_t i = 0; i < n; i += 3) x[i] = std::round(x[i] * 4.f);  // many exact ties for max
    DevBuf<float> dx(x), dy(m);
    DevBuf<int32_t> didx(m);
    std::vector<float> want(m);
    ganglion::cpu::sum_axis(nullptr, x.data(), want.data(), d.outer, d.r, d.inner, 0.5f);
    gc::sum_axis(gc::stream(), dx.p, dy.p, d.outer, d.r, d.inner, 0.5f);
    check_close(dy.get(), want, 1e-4f, 1e-4f, "sum_axis");
    std::vector<int32_t> want_idx(m);
    ganglion::cpu::max_axis(nullptr, x.data(), want.data(), want_idx.data(), d.outer, d.r, d.inner);
    gc::max_axis(gc::stream(), dx.p, dy.p, didx.p, d.outer, d.r, d.inner);
    CHECK(dy.get() == want);
    CHECK(didx.get() == want_idx);
    std::vector<float> g = random_vec(m, -1.f, 1.f, 12), want_out(n), want_g(m);
    DevBuf<float> dg(g), dout(n);
    ganglion::cpu::scatter_axis(nullptr, g.data(), want_idx.data(), want_out.data(), d.outer, d.r, d.inner);
    gc::scatter_axis(gc::stream(), dg.p, didx.p, dout.p, d.outer, d.r, d.inner);
    CHECK(dout.get() == want_out);
    ganglion::cpu::gather_axis(nullptr, x.data(), want_idx.data(), want_g.data(), d.outer, d.r, d.inner);
    gc::gather_axis(gc::stream(), dx.p, didx.p, dg.p, d.outer, d.r, d.inner);
    CHECK(dg.get() == want_g);
  }
}

TEST_CASE("cuda twins: gemm matches the CPU in every transpose combination", "[cuda]") {
  if (!have_gpu()) return;
  const int64_t M = 37, N = 29, K = 53;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (float beta : {0.f, 0.5f}) {
        const int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
        std::vector<float> A = random_vec(static_cast<size_t>((ta ? K : M) * lda), -1.f, 1.f, 21);
        std::vector<float> B = random_vec(static_cast<size_t>((tb ? N : K) * ldb), -1.f, 1.f, 22);
        std::vector<float> C = random_vec(static_cast<size_t>(M * ldc), -1.f, 1.f, 23);
        if (beta == 0.f) C[0] = std::numeric_limits<float>::quiet_NaN();  // must be ignored
        std::vector<float> want = C;
        ganglion::cpu::gemm(nullptr, ta, tb, M, N, K, 1.5f, A.data(), lda, B.data(), ldb, beta, want.data(), ldc);
        DevBuf<float> dA(A), dB(B), dC(C);
        gc::gemm(gc::stream(), ta, tb, M, N, K, 1.5f, dA.p, lda, dB.p, ldb, beta, dC.p, ldc);
        check_close(dC.get(), want, 1e-5f, 1e-5f, "gemm ta=" + std::to_string(ta) + " tb=" + std::to_string(tb));
      }
}

TEST_CASE("cuda twins: layernorm forward and backward match the CPU", "[cuda]") {
  if (!have_gpu()) return;
  for (auto [M, D] : {std::pair<int64_t, int64_t>{37, 19}, {5, 3000}, {2000, 8}, {1, 1}}) {
    for (bool affine : {true, false}) {
      const size_t n = static_cast<size_t>(M * D);
      std::vector<float> x = random_vec(n, -3.f, 5.f, 31), dy = random_vec(n, -1.f, 1.f, 32);
      std::vector<float> gamma = random_vec(static_cast<size_t>(D), 0.5f, 1.5f, 33);
      std::vector<float> beta = random_vec(static_cast<size_t>(D), -1.f, 1.f, 34);
      std::vector<float> y(n), mean(M), invstd(M), dx(n), dgam(D), dbet(D);
      const float* g = affine ? gamma.data() : nullptr;
      const float* b = affine ? beta.data() : nullptr;
      ganglion::cpu::layernorm_forward(nullptr, x.data(), g, b, y.data(), mean.data(), invstd.data(), M, D, 1e-5f);
      ganglion::cpu::layernorm_backward(nullptr, x.data(), dy.data(), g, mean.data(), invstd.data(), dx.data(),
                                        dgam.data(), dbet.data(), M, D);
      DevBuf<float> dX(x), dDY(dy), dG(gamma), dB(beta), dY(n), dMean(M), dInv(M), dDX(n), dDG(D), dDB(D);
      gc::layernorm_forward(gc::stream(), dX.p, affine ? dG.p : nullptr, affine ? dB.p : nullptr, dY.p, dMean.p,
                            dInv.p, M, D, 1e-5f);
      gc::layernorm_backward(gc::stream(), dX.p, dDY.p, affine ? dG.p : nullptr, dMean.p, dInv.p, dDX.p, dDG.p,
                             dDB.p, M, D);
      check_close(dY.get(), y, 1e-4f, 1e-4f, "layernorm y");
      check_close(dMean.get(), mean, 1e-5f, 1e-5f, "layernorm mean");
      check_close(dInv.get(), invstd, 1e-4f, 1e-5f, "layernorm invstd");
      check_close(dDX.get(), dx, 1e-3f, 1e-4f, "layernorm dx");
      check_close(dDG.get(), dgam, 1e-4f, 1e-3f, "layernorm dgamma");
      check_close(dDB.get(), dbet, 1e-4f, 1e-3f, "layernorm dbeta");
    }
  }
}

TEST_CASE("cuda twins: optimiser updates match the CPU", "[cuda]") {
  if (!have_gpu()) return;
  const int64_t n = 1234;
  const std::vector<float> p0 = random_vec(n, -1.f, 1.f, 41), g = random_vec(n, -1.f, 1.f, 42);
  const std::vector<float> s0 = random_vec(n, 0.f, 0.1f, 43), m0 = random_vec(n, -0.1f, 0.1f, 44);
  {
    std::vector<float> p = p0, m = m0, v = s0;
    DevBuf<float> dp(p), dg(g), dm(m), dv(v);
    for (int64_t step = 1; step <= 3; ++step) {
      ganglion::cpu::adam_update(nullptr, p.data(), g.data(), m.data(), v.data(), n, 1e-3f, 0.5f, 0.999f, 1e-8f,
                                 0.01f, step);
      gc::adam_update(gc::stream(), dp.p, dg.p, dm.p, dv.p, n, 1e-3f, 0.5f, 0.999f, 1e-8f, 0.01f, step);
    }
    check_close(dp.get(), p, 1e-5f, 1e-6f, "adam p");
    check_close(dm.get(), m, 1e-5f, 1e-6f, "adam m");
    check_close(dv.get(), v, 1e-5f, 1e-6f, "adam v");
  }
  {
    std::vector<float> p = p0, sq = s0;
    DevBuf<float> dp(p), dg(g), dsq(sq);
    ganglion::cpu::rmsprop_update(nullptr, p.data(), g.data(), sq.data(), n, 5e-5f, 0.99f, 1e-8f, 0.f);
    gc::rmsprop_update(gc::stream(), dp.p, dg.p, dsq.p, n, 5e-5f, 0.99f, 1e-8f, 0.f);
    check_close(dp.get(), p, 1e-5f, 1e-6f, "rmsprop p");
    check_close(dsq.get(), sq, 1e-5f, 1e-6f, "rmsprop sq");
  }
  for (float momentum : {0.f, 0.9f}) {
    std::vector<float> p = p0, buf = m0;
    DevBuf<float> dp(p), dg(g), dbuf(buf);
    for (bool first : {true, false}) {
      ganglion::cpu::sgd_update(nullptr, p.data(), g.data(), momentum ? buf.data() : nullptr, n, 0.1f, momentum,
                                1e-4f, first);
      gc::sgd_update(gc::stream(), dp.p, dg.p, momentum ? dbuf.p : nullptr, n, 0.1f, momentum, 1e-4f, first);
    }
    check_close(dp.get(), p, 1e-5f, 1e-6f, "sgd p");
    check_close(dbuf.get(), buf, 1e-5f, 1e-6f, "sgd buf");
  }
}

TEST_CASE("cuda twins: philox fills match the CPU (uniform bit for bit)", "[cuda]") {
  if (!have_gpu()) return;
  for (int64_t n : {int64_t(1), int64_t(7), int64_t(100003)}) {
    const uint64_t seed = 0x123456789abcdefULL, offset = (uint64_t(1) << 32) - 3;  // counter carries into hi word
    std::vector<float> want(static_cast<size_t>(n));
    DevBuf<float> dy(static_cast<size_t>(n));
    ganglion::cpu::philox_uniform(nullptr, want.data(), n, seed, offset, -2.f, 3.f);
    gc::philox_uniform(gc::stream(), dy.p, n, seed, offset, -2.f, 3.f);
    const std::vector<float> got = dy.get();
    CHECK(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0);
    ganglion::cpu::philox_normal(nullptr, want.data(), n, seed, offset, 0.5f, 2.f);
    gc::philox_normal(gc::stream(), dy.p, n, seed, offset, 0.5f, 2.f);
    check_close(dy.get(), want, 1e-5f, 1e-5f, "philox_normal");
  }
}

TEST_CASE("cuda twins: gradient penalty pieces match the CPU", "[cuda]") {
  if (!have_gpu()) return;
  for (auto [N, D] : {std::pair<int64_t, int64_t>{13, 7}, {5, 5000}, {600, 2}, {1, 1}}) {
    const size_t n = static_cast<size_t>(N * D);
    std::vector<float> x = random_vec(n, -1.f, 1.f, 51), xt = random_vec(n, -1.f, 1.f, 52);
    std::vector<float> eps = random_vec(static_cast<size_t>(N), 0.f, 1.f, 53);
    std::vector<float> out(n), norms(N), loss(1), dg(n);
    const std::vector<float> dloss = {0.75f};
    ganglion::cpu::interpolate(nullptr, x.data(), xt.data(), eps.data(), out.data(), N, D);
    DevBuf<float> dX(x), dXT(xt), dE(eps), dOut(n), dNorms(N), dLoss(1), dDL(dloss), dDG(n);
    gc::interpolate(gc::stream(), dX.p, dXT.p, dE.p, dOut.p, N, D);
    check_close(dOut.get(), out, 1e-6f, 1e-6f, "interpolate");
    ganglion::cpu::gradient_penalty_forward(nullptr, x.data(), norms.data(), loss.data(), N, D, 10.f, 1.f);
    gc::gradient_penalty_forward(gc::stream(), dX.p, dNorms.p, dLoss.p, N, D, 10.f, 1.f);
    check_close(dNorms.get(), norms, 1e-5f, 1e-6f, "penalty norms");
    check_close(dLoss.get(), loss, 1e-4f, 1e-6f, "penalty loss");
    ganglion::cpu::gradient_penalty_backward(nullptr, x.data(), norms.data(), dloss.data(), dg.data(), N, D, 10.f,
                                             1.f);
    gc::gradient_penalty_backward(gc::stream(), dX.p, dNorms.p, dDL.p, dDG.p, N, D, 10.f, 1.f);
    check_close(dDG.get(), dg, 1e-4f, 1e-6f, "penalty dg");
  }
}

#endif  // GANGLION_HAS_CUDA
