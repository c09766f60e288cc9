// benchmarks/kernels/penalty_lab.cpp — the gradient-penalty lab (issue 9): the WGAN-GP path on the WGAN-GP-64
// critic (DCGAN-64 shapes, LayerNorm, batch 128) through the engine's ops and autograd, as the trainer runs it:
// gan/penalty.cpp's wgan_gp (interpolation, forward, backward to the input with create_graph, the penalty) and
// then backward() of the penalty (the double backward to the parameters).
//   CPU path (always): the path on the CPU engine, and its double backward checked against central differences
//     of the penalty along a random direction of the last conv's weight (no activation follows it, so the penalty
//     is smooth in those weights while their gradient runs back through every layer's second derivative).
//   GPU path: the same path on CUDA, validated against the CPU engine (penalty and every parameter's gradient),
//     timed (L2 flushed, CUDA events, median) against the floor = one forward + two backwards of the same critic
//     (to every parameter and the input), measured the same way.
// Exit status 1 when any validation fails, 2 on bad flags.
#include <cmath>
#include <cstdio>

#include "benchmarks/kernels/lab_models.h"
#include "benchmarks/kernels/lab_util.h"
#include "core/autograd.h"
#include "core/ops.h"
#include "gan/penalty.h"
#include "layers/conv.h"

#ifdef GANGLION_HAS_CUDA
#include "benchmarks/kernels/lab_gpu.h"
#include "kernels/device.h"
#endif

namespace ganglion::lab {
namespace {

constexpr float kLambda = 10.f;
// GPU against CPU through a chain of ~50 FP32 ops (three passes through every layer), summed in different orders.
constexpr double kTolChain = 1e-3;
// Central differences in FP32 (step 1% of the weights): truncation and rounding each ~1e-4.
constexpr double kTolFiniteDiff = 1e-2;

struct Critic {
  std::shared_ptr<Sequential> D;
  Tensor real, fake;
  uint64_t eps_seed = 0;  // the interpolation weights are drawn from Generator(eps_seed) on every run
};

// The critic (weights from a fixed seed), real and fake batches (drawn on the CPU), on `dev`.
Critic make_critic(const LabModel& m, Device dev, uint64_t seed) {
  Critic c;
  c.D = build(m, seed).D;
  c.D->to(dev);
  Generator g(seed + 1);
  const Shape shape{m.batch, m.spec.channels, m.spec.image_size, m.spec.image_size};
  c.real = g.rand(shape, Device::cpu(), -1.f, 1.f).to(dev);
  c.fake = g.rand(shape, Device::cpu(), -1.f, 1.f).to(dev);
  c.eps_seed = seed + 2;
  return c;
}

// The path as the trainer runs it: the penalty, and with `backward` its gradient accumulated into .grad.
Tensor gp_path(Critic& c, bool backward) {
  Generator g(c.eps_seed);
  c.D->zero_grad();
  Tensor pen = wgan_gp(*c.D, c.real, c.fake, kLambda, g);
  if (backward) pen.backward();
  return pen;
}

// The floor's parts: one forward of the critic and `backwards` backward passes of sum(output) to every parameter
// and the input.
void floor_pass(Critic& c, int backwards) {
  Tensor x = c.real.detach();
  x.set_requires_grad();
  Tensor loss = sum((*c.D)(x));
  std::vector<Tensor> inputs = c.D->parameters();
  inputs.push_back(x);
  for (int i = 0; i < backwards; ++i) grad({loss}, inputs);
}

Conv2d& last_conv(Sequential& net) {
  Conv2d* last = nullptr;
  for (const auto& [name, child] : net.children())
    if (auto* conv = dynamic_cast<Conv2d*>(child.get())) last = conv;
  if (last == nullptr) throw Error("penalty lab: the critic has no Conv2d");
  return *last;
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return s;
}

// A parameter's .grad, or no values when the penalty does not reach it (a bias right before a LeakyReLU changes
// only which side of the kink each unit is on, so the input gradient does not depend on it smoothly and autograd
// records no path to it).
std::vector<float> grad_values(const Tensor& p) {
  return p.grad().defined() ? p.grad().to_vector() : std::vector<float>{};
}

struct CpuResult {
  float penalty = 0;
  std::vector<std::vector<float>> grads;  // every parameter's .grad after the path
  double fd = 0, analytic = 0, fd_err = 0;
};

// The path on the CPU engine and the central-difference check of its double backward.
CpuResult cpu_path(const LabModel& m, uint64_t seed) {
  Critic c = make_critic(m, Device::cpu(), seed);
  CpuResult r;
  r.penalty = gp_path(c, true).item();
  for (const Tensor& p : c.D->parameters()) r.grads.push_back(grad_values(p));
  Tensor& w = last_conv(*c.D).weight;
  const std::vector<float> w0 = w.to_vector(), gw = w.grad().to_vector();
  std::vector<float> dir = uniform(w0.size(), seed + 3);
  const double scale = std::sqrt(dot(w0, w0) / dot(dir, dir));
  for (float& v : dir) v = static_cast<float>(v * scale);
  constexpr float t = 1e-2f;
  auto penalty_at = [&](float s) {
    std::vector<float> moved(w0.size());
    for (size_t i = 0; i < w0.size(); ++i) moved[i] = w0[i] + s * dir[i];
    {
      NoGradGuard ng;
      copy_(w, from_vector(moved, w.shape()));
    }
    return double(gp_path(c, false).item());
  };
  r.fd = (penalty_at(t) - penalty_at(-t)) / (2.0 * t);
  r.analytic = dot(gw, dir);
  r.fd_err = std::fabs(r.fd - r.analytic) / std::max(std::fabs(r.analytic), 1e-30);
  return r;
}

#ifdef GANGLION_HAS_CUDA

void gpu_rows(const LabModel& m, uint64_t seed, const CpuResult& cpu, const LabOptions& o, Checks& checks,
              Table& check_table, Table& time_table) {
  Critic c = make_critic(m, Device::cuda(), seed);
  const float pen = gp_path(c, true).item();
  double grad_err = 0;
  const std::vector<Tensor> params = c.D->parameters();
  // Both devices must reach the same parameters; max_rel_err is infinite when the sizes differ.
  for (size_t i = 0; i < params.size(); ++i)
    grad_err = std::max(grad_err, max_rel_err(grad_values(params[i]), cpu.grads[i]));
  if (std::isnan(grad_err)) grad_err = INFINITY;
  const double pen_err = std::fabs(double(pen) - cpu.penalty) / std::max(std::fabs(double(cpu.penalty)), 1e-30);
  const std::string ok_pen = checks.record(m.name + " penalty GPU vs CPU engine", pen_err, kTolChain);
  const std::string ok_grad = checks.record(m.name + " parameter gradients GPU vs CPU engine", grad_err, kTolChain);
  check_table.add(
      {m.name + " GPU vs CPU engine: penalty", fixed(pen, 6) + " vs " + fixed(cpu.penalty, 6), sci(pen_err), ok_pen});
  check_table.add({m.name + " GPU vs CPU engine: every parameter's gradient", "-", sci(grad_err), ok_grad});

  auto t = [&](const std::function<void()>& fn) { return time_gpu(fn, o.warmup, o.reps).median_ms; };
  const double path = t([&] { gp_path(c, true); });
  const double path_no_bwd = t([&] { gp_path(c, false); });
  const double fwd = t([&] { floor_pass(c, 0); });
  const double fwd_bwd = t([&] { floor_pass(c, 1); });
  const double floor = t([&] { floor_pass(c, 2); });
  const std::string b = std::to_string(m.batch);
  auto row = [&](const std::string& what, double ms) {
    time_table.add({m.name + " b" + b, what, fixed(ms, 3), fixed(ms / floor, 2)});
  };
  row("GP path: interpolation + forward + input grad (create_graph) + penalty + double backward", path);
  row("  of which wgan_gp() (all but the double backward)", path_no_bwd);
  row("  of which the double backward (difference)", path - path_no_bwd);
  row("forward", fwd);
  row("forward + 1 backward", fwd_bwd);
  row("floor: forward + 2 backwards", floor);
}

#endif  // GANGLION_HAS_CUDA

int run(const LabOptions& o) {
  const std::vector<LabModel> models = parse_models(o.models, o.batch);
  [[maybe_unused]] const bool gpu = gpu_path(o);
  Report rep;
  rep.lab = "penalty";
  rep.device = "CPU only (GPU path not run)";
  rep.notes = {
      "GP path = gan/penalty.cpp wgan_gp (lambda " + fixed(kLambda, 0) +
          ": eps ~ U(0,1) per sample, x = eps*real + "
          "(1-eps)*fake, D(x), grad of sum D(x) to x with create_graph, lambda*mean((||g||-1)^2)) then backward() of "
          "the "
          "penalty to every critic parameter; everything through the engine's ops and autograd.",
      "floor = one forward + two backwards of the same critic (sum of its output, to every parameter and the "
      "input), timed the same way; x floor = time / floor.",
      "timing: CUDA events around the whole call (host work included), stream drained and L2 flushed before each "
      "run, median of --reps.",
      "validation: CPU double backward vs central differences along a random direction of the last conv's weight "
      "(step 1%), tolerance " +
          sci(kTolFiniteDiff) +
          "; GPU vs CPU engine, max rel err over every parameter's "
          "gradient, tolerance " +
          sci(kTolChain) + ".",
  };
  Checks checks;
  Table check_table({"check", "values", "rel err", "ok"});
  Table time_table({"critic", "what", "ms", "x floor"});
  for (const LabModel& m : models) {
    const CpuResult cpu = cpu_path(m, o.seed);
    const std::string ok =
        checks.record(m.name + " double backward vs central differences", cpu.fd_err, kTolFiniteDiff);
    check_table.add({m.name + " b" + std::to_string(m.batch) + " CPU: d penalty / d last-conv weight along a direction",
                     "analytic " + sci(cpu.analytic) + ", differences " + sci(cpu.fd), sci(cpu.fd_err), ok});
#ifdef GANGLION_HAS_CUDA
    if (gpu) {
      rep.device = device_summary();
      gpu_rows(m, o.seed, cpu, o, checks, check_table, time_table);
    }
#endif
  }
  rep.tables.emplace_back("Validation", check_table);
  rep.add_gpu_table(o, time_table);
  return rep.finish(o, checks);
}

}  // namespace
}  // namespace ganglion::lab

int main(int argc, char** argv) {
  using namespace ganglion::lab;
  LabOptions o;
  o.models = "wgangp64";
  o.reps = 10;
  o.warmup = 3;
  const int code =
      parse_options("penalty_lab", "Gradient-penalty lab: the WGAN-GP path against its floor", argc, argv, o);
  if (code >= 0) return code;
  return run_lab("penalty_lab", [&] { return run(o); });
}
