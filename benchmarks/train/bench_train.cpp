// benchmarks/train/bench_train.cpp — end-to-end GAN training throughput: full training iterations (D and G
// steps with Adam) of DCGAN, WGAN-GP and the 2-D toy WGAN-GP on synthetic data, timed with the host clock, with
// peak memory and the analytic FLOP rate. benchmarks/reference/torch_gan.py runs the same thing in PyTorch and
// prints the same last line, `ms_per_iter=<median> img_per_s=<value>`, which benchmarks/train/compare.sh reads.
//
// Models and hyperparameters (torch_gan.py must match each one):
//   dcgan28   28×28×1, batch 64,  nz 100, ngf = ndf = 64 (G: ConvT 100→128 (7×7) → 64 (14×14) → 1 (28×28);
//             D: Conv 1→64 (14) → 128 + BatchNorm (7) → 1 (7×7 kernel)), BatchNorm in D.
//   dcgan64   64×64×3, batch 128, nz 100, ngf = ndf = 64: pytorch/examples' DCGAN (G 512-256-128-64-3,
//             D 64-128-256-512-1 with BatchNorm), logits + BCE-with-logits instead of Sigmoid + BCE.
//   DCGAN iteration (pytorch/examples): fake = G(z); D step on D(real) and D(fake.detach()) with
//             BCE(real, 1) + BCE(fake, 0); G step on D(fake) with the non-saturating BCE(fake, 1) (D's weights
//             keep requires_grad, so this backward also computes D's weight gradients, as pytorch/examples does).
//             Adam(lr 2e-4, betas 0.5, 0.999), eps 1e-8. One D step per iteration.
//   wgangp28, wgangp64: the same shapes, but the critic uses LayerNorm over [C, H, W] (with affine weight and
//             bias) where DCGAN's D has BatchNorm (the WGAN-GP paper's advice: no batch norm in the critic).
//             n_critic = 5 critic steps, each: fake = G(z) under no_grad; loss = mean(D(fake)) - mean(D(real))
//             + 10 * mean((||∇D(x̂)|| - 1)^2) with x̂ = eps*real + (1-eps)*fake, eps ~ U(0,1) per sample
//             (gan/penalty.h's wgan_gp: grad with create_graph, then the gradient_penalty op); then one G step
//             with -mean(D(G(z))) and D's weights frozen (requires_grad off). Adam(lr 1e-4, betas 0.5, 0.9).
//   toy       the 2-D WGAN-GP of gan/models2d.h with Mlp2dSpec's defaults (G: 2 → 4 × [Linear 400 (no bias)
//             + BatchNorm1d + ReLU] → 2; critic: 3 × [Linear → 200×5 + Maxout(5)] → Linear 1), batch 256,
//             the WGAN-GP loop and hyperparameters above.
// Real data: U(-1, 1) images (or points) drawn per D step from a ganglion::Generator on the device; z ~ N(0, 1).
// All FP32. Weights: dcgan_init (N(0, 0.02) convs, N(1, 0.02) BatchNorm) for the image models, PyTorch's default
// Linear init for the toy.
//
// FLOPs (nominal, the same count for both implementations): F_G and F_D are one forward pass over the batch,
// 2 × the multiply-accumulates of every conv, transposed conv and linear layer. A backward pass counts 2 × forward
// (the data-gradient and the weight-gradient GEMMs). The gradient penalty counts 6 × F_D: D(x̂) forward (1), the
// data-gradient pass with create_graph (1), and the double backward — through that pass (2) and back through
// D(x̂) (2). Hence:
//   DCGAN iteration   = 3 F_G (G fwd + bwd) + 9 F_D (D on real, fake and again fake, each fwd + bwd)
//   WGAN-GP iteration = 5 × (F_G + 3 F_D + 3 F_D + 6 F_D) + 3 F_G + 2 F_D (frozen D: data gradient only)
//                     = 8 F_G + 62 F_D
// Normalisation, activations, losses and Adam are not counted.
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "core/autograd.h"
#include "core/device.h"
#include "core/dispatch.h"
#include "core/host_pool.h"
#include "core/ops.h"
#include "core/rng.h"
#include "gan/losses.h"
#include "gan/models2d.h"
#include "gan/models_image.h"
#include "gan/penalty.h"
#include "kernels/device.h"
#include "layers/conv.h"
#include "layers/linear.h"
#include "layers/optim.h"
#include "layers/sequential.h"

using namespace ganglion;

namespace {

const char* kUsage =
    "usage: bench_train [--model dcgan28|dcgan64|wgangp28|wgangp64|toy] [--batch N] [--iters N] [--warmup N]\n"
    "                   [--device cpu|cuda|auto] [--threads N] [--seed N] [--clock wall|cpu] [--quiet]\n"
    "  --clock cpu: time each iteration by the process CPU time (user+sys, all threads) instead of the wall\n"
    "               clock, for comparing work done on a machine shared with other jobs (CPU device only)\n";

struct Args {
  std::string model = "dcgan28";
  int64_t batch = 0;  // 0: the model's default
  int iters = 20;
  int warmup = 3;
  std::string device = "cpu";
  int threads = 0;  // 0: OpenMP's default
  uint64_t seed = 0;
  bool quiet = false;  // no per-iteration lines
  bool cpu_clock = false;  // --clock cpu: iterations timed by process CPU time
};

[[noreturn]] void fail(const std::string& msg) {
  std::cerr << "bench_train: " << msg << "\n" << kUsage;
  std::exit(2);
}

int64_t parse_int(const std::string& flag, const std::string& v, int64_t lo) {
  char* end = nullptr;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || x < lo) fail(flag + " expects an integer >= " + std::to_string(lo) + ", got '" + v + "'");
  return x;
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i], value;
    if (flag == "--help" || flag == "-h") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (flag == "--quiet") {
      a.quiet = true;
      continue;
    }
    const auto eq = flag.find('=');
    if (eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    } else {
      if (i + 1 >= argc) fail(flag + " needs a value");
      value = argv[++i];
    }
    if (flag == "--model") a.model = value;
    else if (flag == "--batch") a.batch = parse_int(flag, value, 1);
    else if (flag == "--iters") a.iters = static_cast<int>(parse_int(flag, value, 1));
    else if (flag == "--warmup") a.warmup = static_cast<int>(parse_int(flag, value, 0));
    else if (flag == "--device") a.device = value;
    else if (flag == "--threads") a.threads = static_cast<int>(parse_int(flag, value, 1));
    else if (flag == "--seed") a.seed = static_cast<uint64_t>(parse_int(flag, value, 0));
    else if (flag == "--clock") {
      if (value != "wall" && value != "cpu") fail("--clock expects wall or cpu, got '" + value + "'");
      a.cpu_clock = value == "cpu";
    }
    else fail("unknown flag '" + flag + "'");
  }
  return a;
}

// One benchmark setup: the two models, the shapes of a data sample and a noise sample, and the recipe.
struct Setup {
  bool wgangp = false;
  std::shared_ptr<Sequential> G, D;
  Shape data_shape, noise_shape;  // per sample, without the batch dimension
  int64_t batch = 0;
  int n_critic = 1;
  float lr = 2e-4f, beta1 = 0.5f, beta2 = 0.999f;
  float lambda_gp = 10.f;
  std::string summary;
};

Shape with_batch(int64_t n, const Shape& s) {
  Shape out{n};
  out.insert(out.end(), s.begin(), s.end());
  return out;
}

Setup make_setup(const Args& a, Generator& init) {
  Setup s;
  const std::string& m = a.model;
  if (m == "dcgan28" || m == "dcgan64" || m == "wgangp28" || m == "wgangp64") {
    ImageGanSpec spec;
    const bool small = m.back() == '8';
    spec.image_size = small ? 28 : 64;
    spec.channels = small ? 1 : 3;
    spec.nz = 100;
    spec.ngf = spec.ndf = 64;
    s.wgangp = m.rfind("wgangp", 0) == 0;
    spec.d_norm = s.wgangp ? ImageNorm::LayerNorm : ImageNorm::BatchNorm;
    s.G = make_image_generator(spec, init);
    s.D = make_image_discriminator(spec, init);
    s.data_shape = {spec.channels, spec.image_size, spec.image_size};
    s.noise_shape = {spec.nz, 1, 1};
    s.batch = small ? 64 : 128;
    s.summary = "image " + std::to_string(spec.image_size) + "x" + std::to_string(spec.image_size) + "x" +
                std::to_string(spec.channels) + ", nz 100, ngf=ndf=64, D norm " +
                image_norm_names()[static_cast<size_t>(spec.d_norm)];
  } else if (m == "toy") {
    Mlp2dSpec spec;  // the defaults: the toy-grid25-wgangp recipe's models
    s.wgangp = true;
    s.G = make_generator2d(spec, init);
    s.D = make_critic2d(spec, init);
    s.data_shape = {2};
    s.noise_shape = {spec.noise_dim};
    s.batch = 256;
    s.summary = "2-D MLP G (4x400, BatchNorm1d) and Maxout critic (3x200x5)";
  } else {
    fail("unknown model '" + m + "' (expected dcgan28, dcgan64, wgangp28, wgangp64 or toy)");
  }
  if (s.wgangp) {
    s.n_critic = 5;
    s.lr = 1e-4f, s.beta1 = 0.5f, s.beta2 = 0.9f;
  }
  if (a.batch > 0) s.batch = a.batch;
  return s;
}

// Multiply-accumulates of one forward pass per sample through the convs, transposed convs and linears of net,
// found by running each child in turn on a 2-sample input (grad off, eval mode so BatchNorm leaves its
// running statistics alone).
double forward_macs_per_sample(Sequential& net, const Shape& in_shape) {
  NoGradGuard ng;
  net.eval();
  constexpr int64_t n = 2;
  Tensor x = zeros(with_batch(n, in_shape));
  double macs = 0;
  for (const auto& [name, child] : net.children()) {
    Tensor y = child->forward(x);
    if (auto* c = dynamic_cast<Conv2d*>(child.get()))
      macs += static_cast<double>(y.numel() / n) * c->in_channels * c->kernel_size * c->kernel_size;
    else if (auto* t = dynamic_cast<ConvTranspose2d*>(child.get()))
      macs += static_cast<double>(x.numel() / n) * t->out_channels * t->kernel_size * t->kernel_size;
    else if (auto* l = dynamic_cast<Linear*>(child.get()))
      macs += static_cast<double>(x.numel() / n) * l->out_features;
    x = y;
  }
  net.train();
  return macs;
}

struct IterLosses {
  Tensor d, g;  // detached scalars, read after the clock stops
};

// The pytorch/examples DCGAN iteration (see the header comment).
IterLosses dcgan_iteration(Setup& s, Adam& opt_d, Adam& opt_g, Generator& rng, Device dev) {
  Tensor real = rng.rand(with_batch(s.batch, s.data_shape), dev, -1.f, 1.f);
  Tensor fake = (*s.G)(rng.randn(with_batch(s.batch, s.noise_shape), dev));
  // Separate statements: D's BatchNorm statistics depend on the order of its calls (real first).
  Tensor out_real = (*s.D)(real);
  Tensor out_fake = (*s.D)(fake.detach());
  Tensor loss_d = d_loss(GanLoss::NonSaturating, out_real, out_fake);
  opt_d.zero_grad();
  loss_d.backward();
  opt_d.step();

  Tensor loss_g = g_loss(GanLoss::NonSaturating, (*s.D)(fake));
  opt_g.zero_grad();
  loss_g.backward();
  opt_g.step();
  return {loss_d.detach(), loss_g.detach()};
}

// The WGAN-GP iteration: n_critic critic steps with the gradient penalty, then one G step (gan/trainer.cpp's loop).
IterLosses wgangp_iteration(Setup& s, Adam& opt_d, Adam& opt_g, Generator& rng, Device dev) {
  IterLosses out;
  for (int k = 0; k < s.n_critic; ++k) {
    Tensor real = rng.rand(with_batch(s.batch, s.data_shape), dev, -1.f, 1.f);
    Tensor fake;
    {
      NoGradGuard ng;
      fake = (*s.G)(rng.randn(with_batch(s.batch, s.noise_shape), dev));
    }
    Tensor out_real = (*s.D)(real);
    Tensor out_fake = (*s.D)(fake);
    Tensor loss = add(d_loss(GanLoss::Wasserstein, out_real, out_fake), wgan_gp(*s.D, real, fake, s.lambda_gp, rng));
    opt_d.zero_grad();
    loss.backward();
    opt_d.step();
    out.d = loss.detach();
  }
  for (Tensor p : s.D->parameters()) p.set_requires_grad(false);
  Tensor loss_g = g_loss(GanLoss::Wasserstein, (*s.D)((*s.G)(rng.randn(with_batch(s.batch, s.noise_shape), dev))));
  opt_g.zero_grad();
  loss_g.backward();
  opt_g.step();
  for (Tensor p : s.D->parameters()) p.set_requires_grad(true);
  out.g = loss_g.detach();
  return out;
}

double percentile_sorted(const std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos)), hi = static_cast<size_t>(std::ceil(pos));
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

double peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// User + system CPU time of the whole process (every thread), in ms. Per iteration it shows the work done
// independently of how long other processes kept this one off the cores.
double process_cpu_ms() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto ms = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_usec) * 1e-3; };
  return ms(ru.ru_utime) + ms(ru.ru_stime);
}

int run(const Args& a) {
  if (a.threads > 0) omp_set_num_threads(a.threads);
  std::string device_msg;
  const Device dev = resolve_device(a.device, &device_msg);

  Generator init(a.seed);
  Setup s = make_setup(a, init);
  const double macs_g = forward_macs_per_sample(*s.G, s.noise_shape);
  const double macs_d = forward_macs_per_sample(*s.D, s.data_shape);
  const double fg = 2.0 * macs_g * static_cast<double>(s.batch), fd = 2.0 * macs_d * static_cast<double>(s.batch);
  const double flops = s.wgangp ? 8 * fg + 62 * fd : 3 * fg + 9 * fd;
  const int d_steps = s.wgangp ? s.n_critic : 1;

  s.G->to(dev);
  s.D->to(dev);
  s.G->train();
  s.D->train();
  Adam opt_g(s.G->parameters(), s.lr, s.beta1, s.beta2);
  Adam opt_d(s.D->parameters(), s.lr, s.beta1, s.beta2);
  Generator rng(a.seed + 1);

  std::printf("bench_train: model=%s device=%s batch=%lld iters=%d warmup=%d threads=%d seed=%llu\n",
              a.model.c_str(), dev.str().c_str(), static_cast<long long>(s.batch), a.iters, a.warmup,
              omp_get_max_threads(), static_cast<unsigned long long>(a.seed));
  if (!device_msg.empty()) std::printf("device: %s\n", device_msg.c_str());
  if (a.cpu_clock && dev.is_cuda()) fail("--clock cpu is for the CPU device only");
  if (a.cpu_clock) std::printf("clock: process CPU time (user+sys, all threads); ms figures below are CPU ms\n");
  if (dev.is_cuda())
    std::printf("gpu: %s, conv/batchnorm: %s, FP32 (no TF32)\n", cuda::device_name().c_str(),
                cuda_conv_impl() == CudaImpl::Cudnn ? "cudnn" : "native");
  std::printf("models: %s; G %lld params, D %lld params\n", s.summary.c_str(),
              static_cast<long long>(s.G->num_parameters()), static_cast<long long>(s.D->num_parameters()));
  std::printf("recipe: %s, Adam(lr %g, betas %g, %g), %d D step(s) per iteration%s\n",
              s.wgangp ? "WGAN-GP" : "DCGAN (BCE-with-logits, non-saturating G)", s.lr, s.beta1, s.beta2, d_steps,
              s.wgangp ? ", lambda 10" : "");
  std::printf("flops: MACs/sample G %.4g, D %.4g; per iteration %s = %.4g GFLOP\n", macs_g, macs_d,
              s.wgangp ? "8 F_G + 62 F_D" : "3 F_G + 9 F_D", flops * 1e-9);
  std::fflush(stdout);

  auto iteration = s.wgangp ? wgangp_iteration : dcgan_iteration;
  std::vector<double> ms, cpu_ms;
  for (int i = 0; i < a.warmup + a.iters; ++i) {
    if (dev.is_cuda()) {
      cuda::synchronize();
      if (i == a.warmup) cuda::reset_peak();
    }
    const double cpu0 = process_cpu_ms();
    const auto t0 = std::chrono::steady_clock::now();
    IterLosses l = iteration(s, opt_d, opt_g, rng, dev);
    if (dev.is_cuda()) cuda::synchronize();
    const double t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    const double cpu_t = process_cpu_ms() - cpu0;
    if (i >= a.warmup) {
      ms.push_back(a.cpu_clock ? cpu_t : t);
      cpu_ms.push_back(cpu_t);
    }
    if (!a.quiet) {
      std::printf("%s %d: %.3f ms  loss_d %.5f  loss_g %.5f\n", i < a.warmup ? "warmup" : "iter", i < a.warmup ? i : i - a.warmup,
                  t, l.d.item(), l.g.item());
      std::fflush(stdout);
    }
  }

  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  double mean = 0;
  for (double t : ms) mean += t / static_cast<double>(ms.size());
  const double median = percentile_sorted(sorted, 0.5);
  std::printf("time ms/iter: median %.3f  mean %.3f  min %.3f  p90 %.3f  max %.3f  (%zu iterations)\n", median, mean,
              sorted.front(), percentile_sorted(sorted, 0.9), sorted.back(), ms.size());
  std::sort(cpu_ms.begin(), cpu_ms.end());
  std::printf("cpu ms/iter (user+sys, all threads): median %.3f  min %.3f\n", percentile_sorted(cpu_ms, 0.5),
              cpu_ms.front());
  if (dev.is_cuda()) {
    const auto st = cuda::memory_stats();
    std::printf("peak_mem_mb=%.1f (caching allocator peak in use over the timed iterations; reserved %.1f MB)\n",
                static_cast<double>(st.peak) / 1048576.0, static_cast<double>(st.reserved) / 1048576.0);
  } else {
    const HostPoolStats hp = host_pool_stats();
    std::printf("host tensor pool: peak in use %.1f MB, cached now %.1f MB (core/host_pool.h)\n",
                static_cast<double>(hp.peak_in_use_bytes) / 1048576.0, static_cast<double>(hp.cached_bytes) / 1048576.0);
    std::printf("peak_mem_mb=%.1f (process peak RSS)\n", peak_rss_mb());
  }
  std::printf("gflops_per_s=%.2f (%.4g GFLOP per iteration at the median time)\n", flops * 1e-9 / (median * 1e-3),
              flops * 1e-9);
  const double img_per_s = static_cast<double>(s.batch * d_steps) / (median * 1e-3);
  std::printf("ms_per_iter=%.3f img_per_s=%.1f\n", median, img_per_s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse_args(argc, argv);
  try {
    return run(a);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::cerr << "bench_train: error: " << e.what() << "\n";
    return 1;
  }
}
