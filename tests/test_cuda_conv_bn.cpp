// tests/test_cuda_conv_bn.cpp — twin tests for convolution and batch normalisation: the native CUDA kernels
// (kernels/cuda/conv.cu, batchnorm.cu) against cuDNN (kernels/cuda/cudnn_*.cpp) and both against the CPU twins,
// at odd shapes (batch 1 and 5, 3 and 7 channels, 7x7 and 33x33, stride 2 on odd sizes, 1x1 and 4x4 kernels,
// dilation 2), DCGAN layers, and transposed-convolution sizes where H, W exceed what P, Q need. Outputs are
// poisoned with NaN before every call to prove that every element is written. Tagged [cuda]; without a GPU (or
// in a build without CUDA) each test reports that it was skipped.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/batchnorm.h"
#include "kernels/conv.h"
#include "kernels/device.h"

namespace {

using namespace ganglion;

bool cuda_ready() {
  std::string why;
  if (!cuda::available(&why)) {
    WARN("skipped: " + why);
    return false;
  }
  return true;
}

#ifdef GANGLION_HAS_CUDA

constexpr double kTol = 1e-5;

std::vector<float> random_vec(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

// ||a - b|| / ||b|| in double; NaN anywhere in a makes it NaN (and so fail).
double rel_err(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    num += d * d;
    den += static_cast<double>(b[i]) * b[i];
  }
  if (den == 0.0) return std::sqrt(num);
  return std::sqrt(num / den);
}

// A device copy of a host vector; download() reads it back (synchronising).
struct Dev {
  size_t n = 0;
  float* p = nullptr;
  explicit Dev(size_t count) : n(count), p(static_cast<float*>(cuda::device_alloc(std::max<size_t>(count, 1) * 4))) {}
  explicit Dev(const std::vector<float>& h) : Dev(h.size()) { upload(h); }
  ~Dev() { cuda::device_free(p); }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;
  void upload(const std::vector<float>& h) {
    REQUIRE(h.size() == n);
    if (n > 0) cuda::copy_h2d(p, h.data(), n * sizeof(float));
  }
  void poison() { upload(std::vector<float>(n, std::numeric_limits<float>::quiet_NaN())); }
  std::vector<float> download() const {
    std::vector<float> h(n);
    if (n > 0) cuda::copy_d2h(h.data(), p, n * sizeof(float));
    return h;
  }
};

void expect_close(const char* what, const std::vector<float>& got, const std::vector<float>& ref) {
  const double e = rel_err(got, ref);
  INFO(what << ": relative error " << e);
  CHECK(e <= kTol);
}

int64_t out_dim(int64_t in, int64_t k, int stride, int pad, int dil) {
  return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1;
}

// A convolution shape; P, Q from the forward formula unless given (transposed-convolution sizes).
ConvShape conv_shape(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S, int sh, int sw,
                     int ph, int pw, int dh, int dw, int64_t P = -1, int64_t Q = -1) {
  ConvShape c;
  c.N = N, c.C = C, c.H = H, c.W = W, c.K = K, c.R = R, c.S = S;
  c.stride_h = sh, c.stride_w = sw, c.pad_h = ph, c.pad_w = pw, c.dil_h = dh, c.dil_w = dw;
  c.P = P >= 0 ? P : out_dim(H, R, sh, ph, dh);
  c.Q = Q >= 0 ? Q : out_dim(W, S, sw, pw, dw);
  return c;
}

std::string describe(const ConvShape& c) {
  return "x[" + std::to_string(c.N) + "," + std::to_string(c.C) + "," + std::to_string(c.H) + "," +
         std::to_string(c.W) + "] w[" + std::to_string(c.K) + "," + std::to_string(c.C) + "," +
         std::to_string(c.R) + "," + std::to_string(c.S) + "] y[.," + std::to_string(c.K) + "," +
         std::to_string(c.P) + "," + std::to_string(c.Q) + "] stride " + std::to_string(c.stride_h) + "x" +
         std::to_string(c.stride_w) + " pad " + std::to_string(c.pad_h) + "x" + std::to_string(c.pad_w) +
         " dil " + std::to_string(c.dil_h) + "x" + std::to_string(c.dil_w);
}

std::vector<ConvShape> conv_shapes() {
  return {
      conv_shape(1, 3, 7, 7, 5, 3, 3, 1, 1, 1, 1, 1, 1),
      conv_shape(5, 7, 33, 33, 4, 4, 4, 2, 2, 1, 1, 1, 1),    // stride 2 on an odd size, 4x4 kernel
      conv_shape(5, 3, 33, 33, 7, 1, 1, 1, 1, 0, 0, 1, 1),    // 1x1
      conv_shape(1, 7, 7, 7, 3, 1, 1, 2, 2, 0, 0, 1, 1),      // 1x1 stride 2 on an odd size
      conv_shape(5, 3, 7, 7, 6, 3, 3, 1, 1, 2, 2, 2, 2),      // dilation 2
      conv_shape(1, 7, 33, 33, 5, 4, 4, 2, 2, 1, 1, 2, 2),    // dilation 2, stride 2, 4x4
      conv_shape(5, 3, 7, 33, 4, 3, 4, 2, 3, 0, 2, 2, 1),     // every parameter different per axis
      conv_shape(64, 1, 28, 28, 64, 4, 4, 2, 2, 1, 1, 1, 1),  // DCGAN discriminator, first layer
      conv_shape(64, 64, 14, 14, 128, 4, 4, 2, 2, 1, 1, 1, 1),
      conv_shape(64, 512, 4, 4, 1, 4, 4, 1, 1, 0, 0, 1, 1),  // DCGAN discriminator head: one output per image
      // Transposed-convolution sizes: H, W larger than the forward formula needs for P, Q.
      conv_shape(5, 6, 15, 15, 3, 4, 4, 2, 2, 1, 1, 1, 1, 7, 7),  // output_padding 1 with stride 2
      conv_shape(2, 3, 10, 11, 4, 3, 3, 1, 1, 0, 0, 2, 2, 5, 5),  // output_padding >= stride (dilation 2)
      conv_shape(2, 3, 13, 9, 4, 3, 3, 2, 1, 1, 0, 1, 1, 5, 5),   // far larger: some pixels see no window
  };
}

TEST_CASE("conv2d: native CUDA vs cuDNN vs CPU", "[cuda][conv]") {
  if (!cuda_ready()) return;
  Stream s = cuda::stream();
  uint32_t seed = 1234;
  for (const ConvShape& c : conv_shapes()) {
    INFO(describe(c));
    const size_t nx = static_cast<size_t>(c.N * c.C * c.H * c.W), nw = static_cast<size_t>(c.K * c.C * c.R * c.S),
                 ny = static_cast<size_t>(c.N * c.K * c.P * c.Q);
    const auto hx = random_vec(nx, seed++), hw = random_vec(nw, seed++), hdy = random_vec(ny, seed++);
    std::vector<float> ref_y(ny), ref_dx(nx), ref_dw(nw);
    cpu::conv2d_forward(nullptr, c, hx.data(), hw.data(), ref_y.data());
    cpu::conv2d_backward_data(nullptr, c, hdy.data(), hw.data(), ref_dx.data());
    cpu::conv2d_backward_weight(nullptr, c, hx.data(), hdy.data(), ref_dw.data());

    Dev x(hx), w(hw), dy(hdy), y(ny), dx(nx), dw(nw);
    std::vector<float> native[3], dnn[3];
    for (int impl = 0; impl < 2; ++impl) {
      auto& out = impl == 0 ? native : dnn;
      y.poison(), dx.poison(), dw.poison();
      if (impl == 0) {
        cuda::conv2d_forward(s, c, x.p, w.p, y.p);
        cuda::conv2d_backward_data(s, c, dy.p, w.p, dx.p);
        cuda::conv2d_backward_weight(s, c, x.p, dy.p, dw.p);
      } else {
        cudnn::conv2d_forward(s, c, x.p, w.p, y.p);
        cudnn::conv2d_backward_data(s, c, dy.p, w.p, dx.p);
        cudnn::conv2d_backward_weight(s, c, x.p, dy.p, dw.p);
      }
      out[0] = y.download(), out[1] = dx.download(), out[2] = dw.download();
    }
    expect_close("forward native vs CPU", native[0], ref_y);
    expect_close("forward cuDNN vs CPU", dnn[0], ref_y);
    expect_close("forward native vs cuDNN", native[0], dnn[0]);
    expect_close("backward-data native vs CPU", native[1], ref_dx);
    expect_close("backward-data cuDNN vs CPU", dnn[1], ref_dx);
    expect_close("backward-data native vs cuDNN", native[1], dnn[1]);
    expect_close("backward-weight native vs CPU", native[2], ref_dw);
    expect_close("backward-weight cuDNN vs CPU", dnn[2], ref_dw);
    expect_close("backward-weight native vs cuDNN", native[2], dnn[2]);
  }
}

TEST_CASE("conv2d: native CUDA is deterministic", "[cuda][conv]") {
  if (!cuda_ready()) return;
  Stream s = cuda::stream();
  const ConvShape c = conv_shape(64, 64, 14, 14, 128, 4, 4, 2, 2, 1, 1, 1, 1);  // split reduction in backward
  const size_t nx = static_cast<size_t>(c.N * c.C * c.H * c.W), nw = static_cast<size_t>(c.K * c.C * c.R * c.S),
               ny = static_cast<size_t>(c.N * c.K * c.P * c.Q);
  Dev x(random_vec(nx, 7)), dy(random_vec(ny, 8)), dw(nw);
  cuda::conv2d_backward_weight(s, c, x.p, dy.p, dw.p);
  const auto first = dw.download();
  dw.poison();
  cuda::conv2d_backward_weight(s, c, x.p, dy.p, dw.p);
  CHECK(dw.download() == first);
}

struct BnCase {
  int64_t N, C, L;
  bool affine, running;
};

TEST_CASE("batchnorm: native CUDA vs cuDNN vs CPU", "[cuda][batchnorm]") {
  if (!cuda_ready()) return;
  Stream s = cuda::stream();
  const BnCase cases[] = {
      {1, 3, 49, true, true},     {5, 7, 1089, true, true},  // 33x33: scalar path
      {5, 3, 16, true, true},     {64, 64, 196, true, true}, {8, 32, 1, true, true},  // [N, C] input
      {2, 5, 7, false, true},     {1, 4, 4096, true, false}, {64, 128, 16, true, true},
      {3, 2, 100000, true, true},  // many slices per channel
  };
  const float momentum = 0.1f, eps = 1e-5f;
  uint32_t seed = 99;
  for (const BnCase& k : cases) {
    INFO("N=" << k.N << " C=" << k.C << " L=" << k.L << (k.affine ? "" : " no affine")
              << (k.running ? "" : " no running stats"));
    const size_t n = static_cast<size_t>(k.N * k.C * k.L), C = static_cast<size_t>(k.C);
    auto hx = random_vec(n, seed++, -2.f, 2.f);
    for (auto& v : hx) v += 3.f;  // a mean well away from 0 exercises the variance's numerics
    const auto hdy = random_vec(n, seed++), hg = random_vec(C, seed++, 0.5f, 1.5f), hb = random_vec(C, seed++);
    const auto hrm = random_vec(C, seed++), hrv = random_vec(C, seed++, 0.5f, 2.f);

    // CPU reference: train (with running stats), eval, backward from the CPU's saved statistics.
    std::vector<float> ref_y(n), ref_mean(C), ref_invstd(C), ref_rm = hrm, ref_rv = hrv, ref_ye(n), ref_dx(n),
        ref_dg(C), ref_db(C);
    const float* g = k.affine ? hg.data() : nullptr;
    const float* b = k.affine ? hb.data() : nullptr;
    cpu::batchnorm_forward_train(nullptr, hx.data(), g, b, ref_y.data(), ref_mean.data(), ref_invstd.data(),
                                 k.running ? ref_rm.data() : nullptr, k.running ? ref_rv.data() : nullptr, k.N, k.C,
                                 k.L, momentum, eps);
    cpu::batchnorm_forward_eval(nullptr, hx.data(), g, b, hrm.data(), hrv.data(), ref_ye.data(), k.N, k.C, k.L, eps);
    cpu::batchnorm_backward(nullptr, hx.data(), hdy.data(), g, ref_mean.data(), ref_invstd.data(), ref_dx.data(),
                            ref_dg.data(), ref_db.data(), k.N, k.C, k.L);

    Dev x(hx), dy(hdy), gamma(hg), beta(hb), rm(C), rv(C), y(n), mean(C), invstd(C), ye(n), dx(n), dg(C), db(C);
    Dev rm0(hrm), rv0(hrv), cpu_mean(ref_mean), cpu_invstd(ref_invstd);
    for (int impl = 0; impl < 2; ++impl) {
      const char* name = impl == 0 ? "native" : "cuDNN";
      INFO(name);
      rm.upload(hrm), rv.upload(hrv);
      y.poison(), mean.poison(), invstd.poison(), ye.poison(), dx.poison(), dg.poison(), db.poison();
      const float* gp = k.affine ? gamma.p : nullptr;
      const float* bp = k.affine ? beta.p : nullptr;
      float* rmp = k.running ? rm.p : nullptr;
      float* rvp = k.running ? rv.p : nullptr;
      if (impl == 0) {
        cuda::batchnorm_forward_train(s, x.p, gp, bp, y.p, mean.p, invstd.p, rmp, rvp, k.N, k.C, k.L, momentum, eps);
        cuda::batchnorm_forward_eval(s, x.p, gp, bp, rm0.p, rv0.p, ye.p, k.N, k.C, k.L, eps);
        cuda::batchnorm_backward(s, x.p, dy.p, gp, cpu_mean.p, cpu_invstd.p, dx.p, dg.p, db.p, k.N, k.C, k.L);
      } else {
        cudnn::batchnorm_forward_train(s, x.p, gp, bp, y.p, mean.p, invstd.p, rmp, rvp, k.N, k.C, k.L, momentum, eps);
        cudnn::batchnorm_forward_eval(s, x.p, gp, bp, rm0.p, rv0.p, ye.p, k.N, k.C, k.L, eps);
        cudnn::batchnorm_backward(s, x.p, dy.p, gp, cpu_mean.p, cpu_invstd.p, dx.p, dg.p, db.p, k.N, k.C, k.L);
      }
      expect_close("train y", y.download(), ref_y);
      expect_close("save_mean", mean.download(), ref_mean);
      expect_close("save_invstd", invstd.download(), ref_invstd);
      expect_close("running_mean", rm.download(), k.running ? ref_rm : hrm);
      expect_close("running_var", rv.download(), k.running ? ref_rv : hrv);
      expect_close("eval y", ye.download(), ref_ye);
      expect_close("dx", dx.download(), ref_dx);
      expect_close("dgamma", dg.download(), ref_dg);
      expect_close("dbeta", db.download(), ref_db);
    }
  }
}

TEST_CASE("batchnorm: backward without dgamma/dbeta writes dx only", "[cuda][batchnorm]") {
  if (!cuda_ready()) return;
  Stream s = cuda::stream();
  const int64_t N = 4, C = 3, L = 25;
  const size_t n = static_cast<size_t>(N * C * L);
  const auto hx = random_vec(n, 5), hdy = random_vec(n, 6), hmean = random_vec(C, 7),
             hinv = random_vec(C, 8, 0.5f, 2.f);
  std::vector<float> ref(n);
  cpu::batchnorm_backward(nullptr, hx.data(), hdy.data(), nullptr, hmean.data(), hinv.data(), ref.data(), nullptr,
                          nullptr, N, C, L);
  Dev x(hx), dy(hdy), mean(hmean), inv(hinv), dx(n);
  dx.poison();
  cuda::batchnorm_backward(s, x.p, dy.p, nullptr, mean.p, inv.p, dx.p, nullptr, nullptr, N, C, L);
  expect_close("native dx", dx.download(), ref);
  dx.poison();
  cudnn::batchnorm_backward(s, x.p, dy.p, nullptr, mean.p, inv.p, dx.p, nullptr, nullptr, N, C, L);
  expect_close("cuDNN dx", dx.download(), ref);
}

#else  // built without CUDA: the twins do not exist; say so visibly.

TEST_CASE("conv2d and batchnorm CUDA twins", "[cuda]") { cuda_ready(); }

#endif

}  // namespace
