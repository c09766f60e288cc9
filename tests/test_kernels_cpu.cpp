// tests/test_kernels_cpu.cpp — the CPU twins (namespace ganglion::cpu) against naive reference loops written
// here: elementwise, reductions, GEMM, convolution, batch/layer norm, optimisers, Philox fills and the gradient
// penalty. Every reference is a plain loop in double, so a failure points at the kernel, not at the reference.
#include <catch2/catch.hpp>
#include <omp.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/batchnorm.h"
#include "kernels/conv.h"
#include "kernels/device.h"
#include "kernels/elementwise.h"
#include "kernels/gemm.h"
#include "kernels/layernorm.h"
#include "kernels/optim.h"
#include "kernels/penalty.h"
#include "kernels/reduce.h"
#include "kernels/rng.h"

using namespace ganglion;
using Vec = std::vector<float>;
using DVec = std::vector<double>;

namespace {

Vec random_vec(size_t n, unsigned seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  Vec v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

// Largest |a-b| / (1 + |b|) over the two ranges (requires equal sizes).
template <class A, class B>
double max_rel_err(const A& a, const B& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i])) / (1.0 + std::fabs(b[i]));
    if (!(d <= worst)) worst = d;  // NaN counts as the worst
  }
  return worst;
}

double dot(const Vec& a, const Vec& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

// Central differences of f (a scalar function of x) at every element of x.
template <class F>
DVec numeric_grad(Vec x, F f, float h = 1e-2f) {
  DVec g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const float keep = x[i];
    x[i] = keep + h;
    const double up = f(x);
    x[i] = keep - h;
    const double down = f(x);
    x[i] = keep;
    g[i] = (up - down) / (2.0 * h);
  }
  return g;
}

}  // namespace

// ------------------------------------------------------------------------------------------------ elementwise

TEST_CASE("cpu unary ops: stable activations, sign, pow, masks", "[kernels][cpu]") {
  const Vec x = {-100.f, -3.f, -0.5f, 0.f, 0.5f, 3.f, 100.f};
  Vec y(x.size());
  auto run = [&](UnaryOp op, UnaryParams p = {}) { cpu::unary(nullptr, op, x.data(), y.data(), x.size(), p); };
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    run(UnaryOp::Sigmoid);
    CHECK(y[i] == Approx(1.0 / (1.0 + std::exp(-v))).margin(1e-7));
    run(UnaryOp::Softplus);
    CHECK(y[i] == Approx(std::log1p(std::exp(-std::fabs(v))) + std::max(v, 0.0)).epsilon(1e-6).margin(1e-7));
    run(UnaryOp::LogSigmoid);
    CHECK(y[i] == Approx(std::min(v, 0.0) - std::log1p(std::exp(-std::fabs(v)))).epsilon(1e-6).margin(1e-7));
    run(UnaryOp::Sign);
    CHECK(y[i] == static_cast<float>((v > 0) - (v < 0)));
    run(UnaryOp::LeakyRelu, {0.2f, 0.f});
    CHECK(y[i] == Approx(v > 0 ? v : 0.2 * v));
    run(UnaryOp::LeakyMask, {0.2f, 0.f});
    CHECK(y[i] == (v > 0 ? 1.f : 0.2f));
    run(UnaryOp::ClampMask, {-0.5f, 0.5f});
    CHECK(y[i] == ((v >= -0.5 && v <= 0.5) ? 1.f : 0.f));
    run(UnaryOp::Affine, {2.f, 1.f});
    CHECK(y[i] == Approx(2 * v + 1));
  }
  run(UnaryOp::Pow, {0.5f, 0.f});
  CHECK(std::isnan(y[1]));  // negative base, non-integer exponent: as std::pow
  CHECK(y[4] == Approx(std::sqrt(0.5)));
  run(UnaryOp::Pow, {3.f, 0.f});
  CHECK(y[1] == Approx(-27.0));
  // LeakyRelu at signed zeros, infinities and NaN, as `v > 0 ? v : a*v` gives them.
  const float inf = std::numeric_limits<float>::infinity();
  const Vec special = {-0.f, 0.f, inf, -inf, std::numeric_limits<float>::quiet_NaN()};
  Vec leaky(special.size());
  cpu::unary(nullptr, UnaryOp::LeakyRelu, special.data(), leaky.data(), special.size(), {0.2f, 0.f});
  CHECK((leaky[0] == 0.f && std::signbit(leaky[0])));
  CHECK((leaky[1] == 0.f && !std::signbit(leaky[1])));
  CHECK(leaky[2] == inf);
  CHECK(leaky[3] == -inf);
  CHECK(std::isnan(leaky[4]));
  // In place (x aliases y) and the parallel path.
  Vec big = random_vec(70000, 1), ref = big;
  cpu::unary(nullptr, UnaryOp::Square, big.data(), big.data(), big.size(), {});
  for (size_t i = 0; i < big.size(); ++i) REQUIRE(big[i] == ref[i] * ref[i]);
}

TEST_CASE("cpu binary broadcast, broadcast_copy, fill, copy_2d", "[kernels][cpu]") {
  // out [2,3,4] = a [2,3,4] op b [3,1] broadcast.
  const Vec a = random_vec(24, 2), b = random_vec(3, 3, 0.5f, 1.f);
  BroadcastShape sh;
  sh.ndim = 3;
  const int64_t shape[3] = {2, 3, 4}, sa[3] = {12, 4, 1}, sb[3] = {0, 1, 0};
  for (int d = 0; d < 3; ++d) sh.shape[d] = shape[d], sh.stride_a[d] = sa[d], sh.stride_b[d] = sb[d];
  Vec out(24);
  cpu::binary(nullptr, BinaryOp::Div, a.data(), b.data(), out.data(), sh);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) CHECK(out[i * 12 + j * 4 + k] == a[i * 12 + j * 4 + k] / b[j]);
  cpu::binary(nullptr, BinaryOp::Maximum, a.data(), b.data(), out.data(), sh);
  CHECK(out[5] == std::max(a[5], b[1]));
  cpu::broadcast_copy(nullptr, b.data(), out.data(), [&] {
    BroadcastShape s2 = sh;
    for (int d = 0; d < 3; ++d) s2.stride_a[d] = sb[d];
    return s2;
  }());
  for (int i = 0; i < 24; ++i) CHECK(out[i] == b[(i / 4) % 3]);
  // Scalar (ndim 0).
  BroadcastShape scalar;
  float s_out = 0.f;
  cpu::binary(nullptr, BinaryOp::Sub, a.data(), b.data(), &s_out, scalar);
  CHECK(s_out == a[0] - b[0]);
  cpu::fill(nullptr, out.data(), 24, 7.f);
  for (float v : out) CHECK(v == 7.f);
  Vec dst(5 * 6, -1.f);
  cpu::copy_2d(nullptr, a.data(), 4, dst.data() + 1, 6, 3, 2);
  for (int r = 0; r < 5; ++r)
    for (int c = 0; c < 6; ++c) {
      const bool inside = r < 3 && c >= 1 && c < 3;
      CHECK(dst[r * 6 + c] == (inside ? a[r * 4 + c - 1] : -1.f));
    }
}

// ------------------------------------------------------------------------------------------------ reductions

TEST_CASE("cpu sum/max along an axis, scatter and gather", "[kernels][cpu]") {
  const int64_t O = 3, R = 5, I = 300;  // inner spans two chunks
  Vec x = random_vec(O * R * I, 4);
  x[(1 * R + 1) * I + 7] = 5.f;  // a tie: first index (1) must win over 3
  x[(1 * R + 3) * I + 7] = 5.f;
  Vec y(O * I), mx(O * I);
  std::vector<int32_t> idx(O * I);
  cpu::sum_axis(nullptr, x.data(), y.data(), O, R, I, 0.5f);
  cpu::max_axis(nullptr, x.data(), mx.data(), idx.data(), O, R, I);
  for (int64_t o = 0; o < O; ++o)
    for (int64_t i = 0; i < I; ++i) {
      double s = 0.0;
      float best = -1e30f;
      int arg = -1;
      for (int64_t j = 0; j < R; ++j) {
        const float v = x[(o * R + j) * I + i];
        s += v;
        if (v > best) best = v, arg = static_cast<int>(j);
      }
      REQUIRE(y[o * I + i] == Approx(0.5 * s).margin(1e-6));
      REQUIRE(mx[o * I + i] == best);
      REQUIRE(idx[o * I + i] == arg);
    }
  CHECK(idx[1 * I + 7] == 1);
  // Scatter the max back, then gather it again.
  Vec g = random_vec(O * I, 5), sc(O * R * I, std::nanf("")), back(O * I);
  cpu::scatter_axis(nullptr, g.data(), idx.data(), sc.data(), O, R, I);
  for (int64_t o = 0; o < O; ++o)
    for (int64_t j = 0; j < R; ++j)
      for (int64_t i = 0; i < I; ++i)
        REQUIRE(sc[(o * R + j) * I + i] == (idx[o * I + i] == j ? g[o * I + i] : 0.f));
  cpu::gather_axis(nullptr, x.data(), idx.data(), back.data(), O, R, I);
  CHECK(back == mx);
  // Reduction over the whole of a contiguous row (inner 1) on the parallel path.
  Vec row = random_vec(40000, 6);
  float total = 0.f;
  cpu::sum_axis(nullptr, row.data(), &total, 1, 40000, 1, 1.f);
  double ref = 0.0;
  for (float v : row) ref += v;
  CHECK(total == Approx(ref).margin(1e-3));
}

// ------------------------------------------------------------------------------------------------ gemm

TEST_CASE("cpu gemm: all transposes, padded leading dimensions, beta 0 over NaN and beta 1", "[kernels][cpu]") {
  struct Size {
    int64_t M, N, K;
  };
  for (Size sz : {Size{3, 2, 4}, Size{37, 29, 23}, Size{1, 17, 9}}) {
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb) {
        const int64_t M = sz.M, N = sz.N, K = sz.K;
        const int64_t a_rows = ta ? K : M, a_cols = ta ? M : K, b_rows = tb ? N : K, b_cols = tb ? K : N;
        const int64_t lda = a_cols + 3, ldb = b_cols + 5, ldc = N + 2;
        const Vec A = random_vec(a_rows * lda, 7), B = random_vec(b_rows * ldb, 8);
        auto at = [&](int64_t i, int64_t k) { return double(ta ? A[k * lda + i] : A[i * lda + k]); };
        auto bt = [&](int64_t k, int64_t j) { return double(tb ? B[j * ldb + k] : B[k * ldb + j]); };
        const Vec c0 = random_vec(M * ldc, 9);
        for (float beta : {0.f, 1.f, 0.5f}) {
          Vec C = c0;
          if (beta == 0.f) {  // garbage, including outside the block, which must survive untouched
            for (int64_t i = 0; i < M; ++i)
              for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = std::numeric_limits<float>::quiet_NaN();
          }
          cpu::gemm(nullptr, ta, tb, M, N, K, 1.5f, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j) {
              double s = 0.0;
              for (int64_t k = 0; k < K; ++k) s += at(i, k) * bt(k, j);
              const double want = 1.5 * s + (beta == 0.f ? 0.0 : beta * double(c0[i * ldc + j]));
              INFO("M " << M << " N " << N << " K " << K << " ta " << ta << " tb " << tb << " beta " << beta);
              REQUIRE(C[i * ldc + j] == Approx(want).margin(1e-4));
            }
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = N; j < ldc; ++j) REQUIRE(C[i * ldc + j] == c0[i * ldc + j]);
        }
      }
  }
}

// ------------------------------------------------------------------------------------------------ conv

namespace {

// Calls f(n, k, c, p, q, ih, iw, r, s) for every (output pixel, tap) whose input pixel is inside the image:
// the 7-loop definition of the convolution, shared by the three references.
template <class F>
void conv_taps(const ConvShape& c, F f) {
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t k = 0; k < c.K; ++k)
      for (int64_t p = 0; p < c.P; ++p)
        for (int64_t q = 0; q < c.Q; ++q)
          for (int64_t ch = 0; ch < c.C; ++ch)
            for (int64_t r = 0; r < c.R; ++r)
              for (int64_t s = 0; s < c.S; ++s) {
                const int64_t ih = p * c.stride_h - c.pad_h + r * c.dil_h;
                const int64_t iw = q * c.stride_w - c.pad_w + s * c.dil_w;
                if (ih >= 0 && ih < c.H && iw >= 0 && iw < c.W) f(n, k, ch, p, q, ih, iw, r, s);
              }
}

ConvShape make_conv(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S, int stride,
                    int pad, int dil, int64_t extra_h = 0) {
  ConvShape c;
  c.N = N, c.C = C, c.H = H, c.W = W, c.K = K, c.R = R, c.S = S;
  c.stride_h = c.stride_w = stride;
  c.pad_h = pad, c.pad_w = pad, c.dil_h = c.dil_w = dil;
  c.P = (H - extra_h + 2 * pad - dil * (R - 1) - 1) / stride + 1;
  c.Q = (W + 2 * pad - dil * (S - 1) - 1) / stride + 1;
  return c;
}

}  // namespace

// Small output maps put several images side by side in one GEMM (kernels/cpu/conv.cpp): each shape runs on 1,
// 2 and 3 threads, which groups a batch of 5 as 5, 3+2 and 2+2+1 images; maps of 512 pixels or more go one
// image per GEMM.
TEST_CASE("cpu conv2d forward, backward-data, backward-weight against the direct loops", "[kernels][cpu]") {
  const std::vector<ConvShape> shapes = {
      make_conv(1, 3, 7, 9, 4, 3, 3, 1, 1, 1),   // odd sizes, padding 1
      make_conv(3, 2, 8, 7, 5, 3, 2, 2, 0, 1),   // batch 3, stride 2, non-square kernel
      make_conv(3, 3, 9, 9, 2, 3, 3, 1, 1, 2),   // dilation 2
      make_conv(2, 4, 6, 5, 3, 1, 1, 1, 0, 1),   // 1x1 on a small map (grouped: copied into columns)
      make_conv(2, 3, 24, 24, 2, 1, 1, 1, 0, 1), // 1x1 on a 576-pixel map (one image per GEMM, no im2col)
      make_conv(2, 2, 24, 24, 3, 3, 3, 1, 1, 1), // 576-pixel map, one image per GEMM through im2col
      make_conv(5, 3, 8, 8, 4, 4, 4, 2, 1, 1),   // batch 5, 4x4 output: grouped with a shorter last group
      make_conv(3, 2, 11, 10, 3, 4, 4, 2, 1, 1), // DCGAN-like 4x4 stride 2 pad 1
      make_conv(2, 3, 10, 8, 2, 4, 3, 2, 1, 1, 1), // transposed-conv use: H one row more than P needs
      make_conv(3, 2, 5, 4, 6, 5, 4, 1, 0, 1),   // kernel covers the image, 1x1 output (one GEMM over the batch)
      make_conv(5, 3, 6, 6, 4, 6, 6, 1, 1, 1),   // kernel the image's size but padded: 3x3 output, im2col path
  };
  for (const ConvShape& c : shapes) {
    INFO("N " << c.N << " C " << c.C << " H " << c.H << " W " << c.W << " K " << c.K << " R " << c.R << " S "
              << c.S << " P " << c.P << " Q " << c.Q << " stride " << c.stride_h << " pad " << c.pad_h << " dil "
              << c.dil_h);
    const Vec x = random_vec(c.N * c.C * c.H * c.W, 10), w = random_vec(c.K * c.C * c.R * c.S, 11);
    const Vec dy = random_vec(c.N * c.K * c.P * c.Q, 12);
    DVec y_ref(dy.size(), 0.0), dx_ref(x.size(), 0.0), dw_ref(w.size(), 0.0);
    conv_taps(c, [&](int64_t n, int64_t k, int64_t ch, int64_t p, int64_t q, int64_t ih, int64_t iw, int64_t r,
                     int64_t s) {
      const int64_t yi = ((n * c.K + k) * c.P + p) * c.Q + q, xi = ((n * c.C + ch) * c.H + ih) * c.W + iw;
      const int64_t wi = ((k * c.C + ch) * c.R + r) * c.S + s;
      y_ref[yi] += double(x[xi]) * w[wi];
      dx_ref[xi] += double(dy[yi]) * w[wi];
      dw_ref[wi] += double(dy[yi]) * x[xi];
    });
    const int threads_before = omp_get_max_threads();
    for (int threads : {1, 2, 3}) {
      INFO("threads " << threads);
      omp_set_num_threads(threads);
      const float nan = std::numeric_limits<float>::quiet_NaN();
      Vec y(dy.size(), nan), dx(x.size(), nan), dw(w.size(), nan);  // all three must overwrite
      cpu::conv2d_forward(nullptr, c, x.data(), w.data(), y.data());
      cpu::conv2d_backward_data(nullptr, c, dy.data(), w.data(), dx.data());
      cpu::conv2d_backward_weight(nullptr, c, x.data(), dy.data(), dw.data());
      omp_set_num_threads(threads_before);
      CHECK(max_rel_err(y, y_ref) < 1e-5);
      CHECK(max_rel_err(dx, dx_ref) < 1e-5);
      CHECK(max_rel_err(dw, dw_ref) < 1e-5);
    }
  }
}

// ------------------------------------------------------------------------------------------------ norms

TEST_CASE("cpu batchnorm train/eval forward and backward against double formulas", "[kernels][cpu]") {
  const int64_t N = 3, C = 4, L = 5, cnt = N * L;
  const float eps = 1e-5f, mom = 0.1f;
  const Vec x = random_vec(N * C * L, 13, -2.f, 3.f), gamma = random_vec(C, 14, 0.5f, 1.5f);
  const Vec beta = random_vec(C, 15), dy = random_vec(N * C * L, 16);
  auto at = [&](int64_t n, int64_t c, int64_t l) { return (n * C + c) * L + l; };
  DVec mean(C, 0.0), var(C, 0.0);
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t n = 0; n < N; ++n)
      for (int64_t l = 0; l < L; ++l) mean[c] += x[at(n, c, l)] / double(cnt);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t l = 0; l < L; ++l) var[c] += std::pow(x[at(n, c, l)] - mean[c], 2) / double(cnt);
  }
  auto forward = [&](const Vec& xin, Vec& y, Vec& sm, Vec& si, Vec* rm, Vec* rv) {
    cpu::batchnorm_forward_train(nullptr, xin.data(), gamma.data(), beta.data(), y.data(), sm.data(), si.data(),
                                 rm ? rm->data() : nullptr, rv ? rv->data() : nullptr, N, C, L, mom, eps);
  };
  Vec y(x.size()), sm(C), si(C), rm(C, 0.5f), rv(C, 2.f);
  forward(x, y, sm, si, &rm, &rv);
  for (int64_t c = 0; c < C; ++c) {
    const double inv = 1.0 / std::sqrt(var[c] + eps);
    CHECK(sm[c] == Approx(mean[c]).margin(1e-6));
    CHECK(si[c] == Approx(inv).epsilon(1e-6));
    CHECK(rm[c] == Approx(0.9 * 0.5 + 0.1 * mean[c]).epsilon(1e-6));
    CHECK(rv[c] == Approx(0.9 * 2.0 + 0.1 * var[c] * cnt / (cnt - 1)).epsilon(1e-6));
    for (int64_t n = 0; n < N; ++n)
      for (int64_t l = 0; l < L; ++l)
        CHECK(y[at(n, c, l)] == Approx((x[at(n, c, l)] - mean[c]) * inv * gamma[c] + beta[c]).margin(1e-5));
  }
  // Eval forward with the running statistics.
  Vec ye(x.size());
  cpu::batchnorm_forward_eval(nullptr, x.data(), gamma.data(), beta.data(), rm.data(), rv.data(), ye.data(), N, C,
                              L, eps);
  for (int64_t c = 0; c < C; ++c)
    CHECK(ye[at(1, c, 2)] ==
          Approx((x[at(1, c, 2)] - rm[c]) / std::sqrt(double(rv[c]) + eps) * gamma[c] + beta[c]).margin(1e-5));
  // Backward: the header's formula, and central differences of sum(y*dy).
  Vec dx(x.size()), dg(C), db(C);
  cpu::batchnorm_backward(nullptr, x.data(), dy.data(), gamma.data(), sm.data(), si.data(), dx.data(), dg.data(),
                          db.data(), N, C, L);
  for (int64_t c = 0; c < C; ++c) {
    const double inv = 1.0 / std::sqrt(var[c] + eps);
    double mdy = 0.0, mdyx = 0.0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t l = 0; l < L; ++l) {
        mdy += dy[at(n, c, l)] / double(cnt);
        mdyx += dy[at(n, c, l)] * (x[at(n, c, l)] - mean[c]) * inv / double(cnt);
      }
    CHECK(db[c] == Approx(mdy * cnt).margin(1e-5));
    CHECK(dg[c] == Approx(mdyx * cnt).margin(1e-5));
    for (int64_t n = 0; n < N; ++n)
      for (int64_t l = 0; l < L; ++l) {
        const double xh = (x[at(n, c, l)] - mean[c]) * inv;
        CHECK(dx[at(n, c, l)] == Approx(gamma[c] * inv * (dy[at(n, c, l)] - mdy - xh * mdyx)).margin(1e-5));
      }
  }
  const DVec num = numeric_grad(x, [&](const Vec& xin) {
    Vec yy(xin.size()), a(C), b(C);
    forward(xin, yy, a, b, nullptr, nullptr);
    return dot(yy, dy);
  });
  CHECK(max_rel_err(dx, num) < 2e-3);
}

TEST_CASE("cpu layernorm forward and backward against double formulas", "[kernels][cpu]") {
  const int64_t M = 4, D = 7;
  const float eps = 1e-5f;
  const Vec x = random_vec(M * D, 17, -1.f, 2.f), gamma = random_vec(D, 18, 0.5f, 1.5f);
  const Vec beta = random_vec(D, 19), dy = random_vec(M * D, 20);
  auto forward = [&](const Vec& xin, Vec& y, Vec& sm, Vec& si) {
    cpu::layernorm_forward(nullptr, xin.data(), gamma.data(), beta.data(), y.data(), sm.data(), si.data(), M, D, eps);
  };
  Vec y(M * D), sm(M), si(M), dx(M * D), dg(D), db(D);
  forward(x, y, sm, si);
  cpu::layernorm_backward(nullptr, x.data(), dy.data(), gamma.data(), sm.data(), si.data(), dx.data(), dg.data(),
                          db.data(), M, D);
  DVec dg_ref(D, 0.0), db_ref(D, 0.0);
  for (int64_t m = 0; m < M; ++m) {
    double mean = 0.0, var = 0.0;
    for (int64_t d = 0; d < D; ++d) mean += x[m * D + d] / double(D);
    for (int64_t d = 0; d < D; ++d) var += std::pow(x[m * D + d] - mean, 2) / double(D);
    const double inv = 1.0 / std::sqrt(var + eps);
    CHECK(sm[m] == Approx(mean).margin(1e-6));
    CHECK(si[m] == Approx(inv).epsilon(1e-6));
    double m1 = 0.0, m2 = 0.0;
    for (int64_t d = 0; d < D; ++d) {
      const double xh = (x[m * D + d] - mean) * inv;
      CHECK(y[m * D + d] == Approx(xh * gamma[d] + beta[d]).margin(1e-5));
      m1 += dy[m * D + d] * gamma[d] / double(D);
      m2 += dy[m * D + d] * gamma[d] * xh / double(D);
      dg_ref[d] += dy[m * D + d] * xh;
      db_ref[d] += dy[m * D + d];
    }
    for (int64_t d = 0; d < D; ++d) {
      const double xh = (x[m * D + d] - mean) * inv;
      CHECK(dx[m * D + d] == Approx(inv * (dy[m * D + d] * gamma[d] - m1 - xh * m2)).margin(1e-5));
    }
  }
  CHECK(max_rel_err(dg, dg_ref) < 1e-5);
  CHECK(max_rel_err(db, db_ref) < 1e-5);
  const DVec num = numeric_grad(x, [&](const Vec& xin) {
    Vec yy(xin.size()), a(M), b(M);
    forward(xin, yy, a, b);
    return dot(yy, dy);
  });
  CHECK(max_rel_err(dx, num) < 2e-3);
  // No affine, and the parallel path (more than 32768 elements).
  const int64_t BM = 300, BD = 130;
  const Vec bx = random_vec(BM * BD, 21), bdy = random_vec(BM * BD, 22);
  Vec by(BM * BD), bsm(BM), bsi(BM), bdx(BM * BD), bdb(BD);
  cpu::layernorm_forward(nullptr, bx.data(), nullptr, nullptr, by.data(), bsm.data(), bsi.data(), BM, BD, eps);
  cpu::layernorm_backward(nullptr, bx.data(), bdy.data(), nullptr, bsm.data(), bsi.data(), bdx.data(), nullptr,
                          bdb.data(), BM, BD);
  for (int64_t d = 0; d < BD; d += 13) {
    double s = 0.0;
    for (int64_t m = 0; m < BM; ++m) s += bdy[m * BD + d];
    CHECK(bdb[d] == Approx(s).margin(1e-4));
  }
  double row_sum = 0.0;  // dx of a row sums to 0 without affine
  for (int64_t d = 0; d < BD; ++d) row_sum += bdx[5 * BD + d];
  CHECK(row_sum == Approx(0.0).margin(1e-4));
}

// ------------------------------------------------------------------------------------------------ optimisers

TEST_CASE("cpu adam, rmsprop, sgd: two steps against scalar loops", "[kernels][cpu]") {
  const int64_t n = 11;
  const Vec p0 = random_vec(n, 23), g1 = random_vec(n, 24), g2 = random_vec(n, 25);
  const float lr = 1e-2f, wd = 0.05f;
  SECTION("adam") {
    Vec p = p0, m(n, 0.f), v(n, 0.f);
    DVec rp(p0.begin(), p0.end()), rm(n, 0.0), rv(n, 0.0);
    const double b1 = 0.5, b2 = 0.999, e = 1e-8;
    for (int step = 1; step <= 2; ++step) {
      const Vec& g = step == 1 ? g1 : g2;
      cpu::adam_update(nullptr, p.data(), g.data(), m.data(), v.data(), n, lr, 0.5f, 0.999f, 1e-8f, wd, step);
      for (int64_t i = 0; i < n; ++i) {
        const double gi = g[i] + double(wd) * rp[i];
        rm[i] = b1 * rm[i] + (1 - b1) * gi;
        rv[i] = b2 * rv[i] + (1 - b2) * gi * gi;
        const double denom = std::sqrt(rv[i]) / std::sqrt(1 - std::pow(b2, step)) + e;
        rp[i] -= double(lr) / (1 - std::pow(b1, step)) * rm[i] / denom;
      }
    }
    CHECK(max_rel_err(p, rp) < 1e-6);
    CHECK(max_rel_err(m, rm) < 1e-6);
    CHECK(max_rel_err(v, rv) < 1e-6);
  }
  SECTION("rmsprop") {
    Vec p = p0, sq(n, 0.f);
    DVec rp(p0.begin(), p0.end()), rsq(n, 0.0);
    for (int step = 1; step <= 2; ++step) {
      const Vec& g = step == 1 ? g1 : g2;
      cpu::rmsprop_update(nullptr, p.data(), g.data(), sq.data(), n, lr, 0.99f, 1e-8f, wd);
      for (int64_t i = 0; i < n; ++i) {
        const double gi = g[i] + double(wd) * rp[i];
        rsq[i] = 0.99 * rsq[i] + (1 - 0.99) * gi * gi;
        rp[i] -= double(lr) * gi / (std::sqrt(rsq[i]) + 1e-8);
      }
    }
    CHECK(max_rel_err(p, rp) < 1e-6);
    CHECK(max_rel_err(sq, rsq) < 1e-6);
  }
  SECTION("sgd with and without momentum") {
    for (float mom : {0.f, 0.9f}) {
      Vec p = p0, buf(n, std::nanf(""));  // the first step must overwrite buf
      DVec rp(p0.begin(), p0.end()), rb(n, 0.0);
      for (int step = 1; step <= 2; ++step) {
        const Vec& g = step == 1 ? g1 : g2;
        cpu::sgd_update(nullptr, p.data(), g.data(), mom != 0.f ? buf.data() : nullptr, n, lr, mom, wd, step == 1);
        for (int64_t i = 0; i < n; ++i) {
          double gi = g[i] + double(wd) * rp[i];
          if (mom != 0.f) {
            rb[i] = step == 1 ? gi : double(mom) * rb[i] + gi;
            gi = rb[i];
          }
          rp[i] -= double(lr) * gi;
        }
      }
      CHECK(max_rel_err(p, rp) < 1e-6);
    }
  }
}

// ------------------------------------------------------------------------------------------------ philox

TEST_CASE("cpu philox uniform and normal: range, moments, determinism, offsets", "[kernels][cpu]") {
  const int64_t n = 100000;
  Vec u(n), z(n);
  cpu::philox_uniform(nullptr, u.data(), n, 42, 0, -2.f, 3.f);
  cpu::philox_normal(nullptr, z.data(), n, 42, 0, 1.f, 2.f);
  double su = 0.0, sz = 0.0, szz = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    REQUIRE(u[i] >= -2.f);
    REQUIRE(u[i] < 3.f);
    REQUIRE(std::isfinite(z[i]));
    su += u[i];
    sz += z[i];
    szz += double(z[i]) * z[i];
  }
  const double mz = sz / n, vz = szz / n - mz * mz;
  CHECK(su / n == Approx(0.5).margin(0.03));  // sd of the mean: 5/sqrt(12)/sqrt(1e5) ~ 0.0046
  CHECK(mz == Approx(1.0).margin(0.03));      // sd of the mean: 2/sqrt(1e5) ~ 0.0063
  CHECK(vz == Approx(4.0).margin(0.1));       // sd of the variance: 4*sqrt(2/1e5) ~ 0.018
  // Same (seed, offset): same numbers; a small serial fill agrees with the big parallel one, including an odd
  // count that ends mid-block; offset + 1 shifts the sequence by 4 elements; another seed differs.
  Vec u2(n), small(7), z7(7);
  cpu::philox_uniform(nullptr, u2.data(), n, 42, 0, -2.f, 3.f);
  CHECK(u2 == u);
  cpu::philox_uniform(nullptr, small.data(), 7, 42, 1000, -2.f, 3.f);
  for (int i = 0; i < 7; ++i) CHECK(small[i] == u[4000 + i]);
  cpu::philox_normal(nullptr, z7.data(), 7, 42, 1, 1.f, 2.f);
  for (int i = 0; i < 7; ++i) CHECK(z7[i] == z[4 + i]);
  cpu::philox_uniform(nullptr, small.data(), 7, 43, 1000, -2.f, 3.f);
  CHECK(small[0] != u[4000]);
  CHECK(philox_blocks(7) == 2);
  CHECK(philox_blocks(8) == 2);
}

// ------------------------------------------------------------------------------------------------ penalty

TEST_CASE("cpu gradient penalty: interpolate, forward and backward against the formula", "[kernels][cpu]") {
  const int64_t N = 5, D = 9;
  const float lambda = 10.f, target = 1.f;
  const Vec x = random_vec(N * D, 26), xt = random_vec(N * D, 27), e = random_vec(N, 28, 0.f, 1.f);
  Vec out(N * D);
  cpu::interpolate(nullptr, x.data(), xt.data(), e.data(), out.data(), N, D);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t d = 0; d < D; ++d)
      CHECK(out[i * D + d] == Approx(e[i] * x[i * D + d] + (1 - e[i]) * xt[i * D + d]).margin(1e-6));
  Vec g = random_vec(N * D, 29);
  for (int64_t d = 0; d < D; ++d) g[2 * D + d] = 0.f;  // a zero gradient row: the 1e-12 floor must keep it finite
  Vec norms(N), dg(N * D);
  float loss = -1.f;
  const float dloss = 0.5f;
  cpu::gradient_penalty_forward(nullptr, g.data(), norms.data(), &loss, N, D, lambda, target);
  cpu::gradient_penalty_backward(nullptr, g.data(), norms.data(), &dloss, dg.data(), N, D, lambda, target);
  double ref_loss = 0.0;
  for (int64_t i = 0; i < N; ++i) {
    double ss = 0.0;
    for (int64_t d = 0; d < D; ++d) ss += double(g[i * D + d]) * g[i * D + d];
    const double nrm = std::sqrt(ss);
    CHECK(norms[i] == Approx(nrm).margin(1e-6));
    ref_loss += (nrm - target) * (nrm - target);
    for (int64_t d = 0; d < D; ++d) {
      const double want = dloss * lambda * 2.0 / N * (nrm - target) * g[i * D + d] / std::max(nrm, 1e-12);
      CHECK(dg[i * D + d] == Approx(want).margin(1e-5));
    }
  }
  CHECK(loss == Approx(lambda / N * ref_loss).epsilon(1e-6));
  // dg is the gradient of dloss*loss with respect to g (away from the zero row).
  const DVec num = numeric_grad(g, [&](const Vec& gin) {
    Vec nn(N);
    float l = 0.f;
    cpu::gradient_penalty_forward(nullptr, gin.data(), nn.data(), &l, N, D, lambda, target);
    return double(dloss) * l;
  }, 1e-2f);
  for (int64_t i = 0; i < N * D; ++i)
    if (i / D != 2) CHECK(dg[i] == Approx(num[i]).margin(2e-3));
}

#ifndef GANGLION_HAS_CUDA
TEST_CASE("cpu-only build: the CUDA device layer says it is absent", "[kernels][cpu]") {
  std::string why;
  CHECK_FALSE(cuda::available(&why));
  CHECK(why == "built without CUDA (nvcc was not found at build time)");
  CHECK(cuda::device_name().empty());
  CHECK(cuda::stream() == nullptr);
  CHECK(cuda::memory_stats().in_use == 0);
  CHECK_THROWS_AS(cuda::device_alloc(16), Error);
  char buf[4] = {};
  CHECK_THROWS_WITH(cuda::copy_h2d(buf, buf, 4), Catch::Contains("CUDA is not available in this build"));
}
#endif
