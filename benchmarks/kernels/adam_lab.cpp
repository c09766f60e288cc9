// benchmarks/kernels/adam_lab.cpp — the fused-Adam lab (issue 9): ganglion::*::adam_update over every parameter
// of DCGAN-64 (G and D), both as the optimiser runs it (layers/optim.cpp: one call per parameter tensor, each in
// its own buffers) and as one call over a flat buffer holding them all.
//   CPU path (always): the CPU twin against torch.optim.Adam's formula evaluated in double here.
//   GPU path: the CUDA twin, both ways, validated against the CPU twin on the same state, timed (L2 flushed, CUDA
//     events, median); GB/s on bytes = read p, g, m, v + write p, m, v (28 bytes per parameter), against the
//     measured device-to-device copy bandwidth.
// Exit status 1 when any validation fails, 2 on bad flags.
#include <cmath>
#include <cstdio>
#include <numeric>

#include "benchmarks/kernels/lab_models.h"
#include "benchmarks/kernels/lab_util.h"
#include "kernels/optim.h"

#ifdef GANGLION_HAS_CUDA
#include "benchmarks/kernels/lab_gpu.h"
#include "kernels/device.h"
#endif

namespace ganglion::lab {
namespace {

// The DCGAN recipe's Adam (lr 2e-4, betas 0.5 / 0.999), at step 10 so that bias correction matters, with a weight
// decay so that its term is exercised too.
struct AdamHyper {
  float lr = 2e-4f, beta1 = 0.5f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 1e-2f;
  int64_t step = 10;
};

struct AdamState {
  std::vector<float> p, g, m, v;
};

AdamState make_state(size_t n, uint64_t seed) {
  return {uniform(n, seed, -1.f, 1.f), uniform(n, seed + 1, -0.1f, 0.1f), uniform(n, seed + 2, -0.01f, 0.01f),
          uniform(n, seed + 3, 0.f, 1e-3f)};
}

// torch.optim.Adam's update, in double (kernels/optim.h states the formula).
AdamState reference(const AdamState& s, const AdamHyper& h) {
  AdamState r = s;
  const double bc1 = 1 - std::pow(double(h.beta1), double(h.step)), bc2 = 1 - std::pow(double(h.beta2), double(h.step));
  for (size_t i = 0; i < s.p.size(); ++i) {
    const double g = double(s.g[i]) + h.weight_decay * double(s.p[i]);
    const double m = h.beta1 * double(s.m[i]) + (1 - h.beta1) * g;
    const double v = h.beta2 * double(s.v[i]) + (1 - h.beta2) * g * g;
    r.p[i] = static_cast<float>(s.p[i] - h.lr / bc1 * m / (std::sqrt(v) / std::sqrt(bc2) + h.eps));
    r.m[i] = static_cast<float>(m), r.v[i] = static_cast<float>(v);
  }
  return r;
}

double state_err(const AdamState& got, const AdamState& ref) {
  double e = std::max({max_rel_err(got.p, ref.p), max_rel_err(got.m, ref.m), max_rel_err(got.v, ref.v)});
  return std::isnan(e) ? INFINITY : e;
}

// The change of p, compared on its own: p moves by ~lr, far below p's own scale, so an error in the step would
// hide in max_rel_err(p). Both sides are differences of float32 values of p (one ulp of p is ~1e-7 against steps
// of ~1e-4), hence the looser tolerance; a wrong term of the formula (bias correction, eps, decay) is far above it.
double step_err(const AdamState& before, const AdamState& got, const AdamState& ref) {
  ErrorMeter meter;
  for (size_t i = 0; i < before.p.size(); ++i)
    meter.add(double(got.p[i]) - before.p[i], double(ref.p[i]) - before.p[i]);
  return meter.rel();
}
constexpr double kTolStep = 1e-2;

// Records both checks of an updated state; returns "ok" or "FAIL" and the two errors.
std::string check_state(Checks& checks, const std::string& what, const AdamState& before, const AdamState& got,
                        const AdamState& ref, double& e_state, double& e_step) {
  e_state = state_err(got, ref), e_step = step_err(before, got, ref);
  const bool a = checks.record(what + " (p, m, v)", e_state, kTolFp32) == "ok";
  const bool b = checks.record(what + " (p step)", e_step, kTolStep) == "ok";
  return a && b ? "ok" : "FAIL";
}

#ifdef GANGLION_HAS_CUDA

void gpu_rows(const std::vector<int64_t>& sizes, const AdamState& s, const AdamState& twin, const AdamHyper& h,
              const Ceilings& ceil, const LabOptions& o, Checks& checks, Table& table) {
  const Stream st = cuda::stream();
  const int64_t n = static_cast<int64_t>(s.p.size());
  const double bytes = 28.0 * n, floor_us = bytes / (ceil.copy_gbps * 1e9) * 1e6;
  auto row = [&](const std::string& layout, size_t launches, const AdamState& got, const std::function<void()>& run) {
    double e_state = 0, e_step = 0;
    const std::string ok = check_state(checks, "adam " + layout + " vs CPU twin", s, got, twin, e_state, e_step);
    const Timing t = time_gpu(run, o.warmup, o.reps);
    const double us = t.median_ms * 1e3, gbps = bytes / (us * 1e-6) * 1e-9;
    table.add({layout, std::to_string(n), std::to_string(launches), fixed(bytes / 1e6, 1), fixed(us, 1), fixed(gbps, 0),
               percent(gbps, ceil.copy_gbps), fixed(floor_us, 1), fixed(us / floor_us, 2), sci(e_state), sci(e_step),
               ok});
  };
  {
    DeviceBuffer p(s.p), g(s.g), m(s.m), v(s.v);
    auto run = [&] {
      cuda::adam_update(st, p.get(), g.get(), m.get(), v.get(), n, h.lr, h.beta1, h.beta2, h.eps, h.weight_decay,
                        h.step);
    };
    run();
    const AdamState got{p.download(), g.download(), m.download(), v.download()};
    row("flat buffer (one call)", 1, got, run);
  }
  {
    // One set of buffers per parameter tensor, as the optimiser holds them.
    std::vector<DeviceBuffer> p, g, m, v;
    size_t off = 0;
    for (int64_t size : sizes) {
      auto part = [&](const std::vector<float>& all) {
        return std::vector<float>(all.begin() + static_cast<std::ptrdiff_t>(off),
                                  all.begin() + static_cast<std::ptrdiff_t>(off + size));
      };
      p.emplace_back(part(s.p)), g.emplace_back(part(s.g)), m.emplace_back(part(s.m)), v.emplace_back(part(s.v));
      off += static_cast<size_t>(size);
    }
    auto run = [&] {
      for (size_t i = 0; i < sizes.size(); ++i)
        cuda::adam_update(st, p[i].get(), g[i].get(), m[i].get(), v[i].get(), sizes[i], h.lr, h.beta1, h.beta2, h.eps,
                          h.weight_decay, h.step);
    };
    run();
    AdamState got;
    for (size_t i = 0; i < sizes.size(); ++i) {
      for (auto [dst, src] :
           {std::pair{&got.p, &p[i]}, std::pair{&got.g, &g[i]}, std::pair{&got.m, &m[i]}, std::pair{&got.v, &v[i]}}) {
        const std::vector<float> part = src->download();
        dst->insert(dst->end(), part.begin(), part.end());
      }
    }
    row("per parameter (as layers/optim.cpp)", sizes.size(), got, run);
  }
}

#endif  // GANGLION_HAS_CUDA

int run(const LabOptions& o) {
  const std::vector<LabModel> models = parse_models(o.models, o.batch);
  [[maybe_unused]] const bool gpu = gpu_path(o);
  const AdamHyper h;
  Report rep;
  rep.lab = "adam";
  rep.device = "CPU only (GPU path not run)";
  rep.notes = {
      "adam_update(p, g, m, v): torch.optim.Adam with lr " + sci(h.lr) + ", betas " + fixed(h.beta1, 3) + "/" +
          fixed(h.beta2, 3) + ", eps " + sci(h.eps) + ", weight decay " + sci(h.weight_decay) + ", step " +
          std::to_string(h.step) + "; over every parameter of G and D.",
      "bytes = 28 per parameter (read p, g, m, v; write p, m, v); GB/s = bytes / median time; floor us = bytes / "
      "copy bandwidth; x floor = time / floor.",
      "validation: CPU twin vs the formula in double; GPU vs the CPU twin from the same state (p, m, v, and p's step "
      "on its own scale). max rel err = max|got - ref| / max|ref|; tolerance " +
          sci(kTolFp32) + " (p, m, v), " + sci(kTolStep) + " (p step: differences of float32 values).",
  };
  Checks checks;
  Table cpu_table({"model", "tensors", "parameters", "max rel err (p, m, v)", "max rel err (p step)", "ok"});
  Table gpu_table({"layout", "parameters", "launches", "MB", "us", "GB/s", "% copy BW", "floor us", "x floor",
                   "max rel err (p, m, v)", "max rel err (p step)", "ok"});
#ifdef GANGLION_HAS_CUDA
  Ceilings ceil;
  if (gpu) {
    rep.device = device_summary();
    ceil = measure_ceilings(o.reps);
    rep.notes.push_back(ceil.notes[2]);
  }
#endif
  for (const LabModel& m : models) {
    const std::vector<int64_t> sizes = parameter_sizes(m);
    const int64_t n = std::accumulate(sizes.begin(), sizes.end(), int64_t{0});
    const AdamState s = make_state(static_cast<size_t>(n), o.seed);
    const AdamState ref = reference(s, h);
    AdamState twin = s;
    cpu::adam_update(nullptr, twin.p.data(), twin.g.data(), twin.m.data(), twin.v.data(), n, h.lr, h.beta1, h.beta2,
                     h.eps, h.weight_decay, h.step);
    double e_state = 0, e_step = 0;
    const std::string ok = check_state(checks, m.name + " adam CPU twin vs formula", s, twin, ref, e_state, e_step);
    cpu_table.add({m.name + " G+D", std::to_string(sizes.size()), std::to_string(n), sci(e_state), sci(e_step), ok});
#ifdef GANGLION_HAS_CUDA
    if (gpu) gpu_rows(sizes, s, twin, h, ceil, o, checks, gpu_table);
#endif
  }
  rep.tables.emplace_back("CPU twin vs formula", cpu_table);
  rep.add_gpu_table(o, gpu_table);
  return rep.finish(o, checks);
}

}  // namespace
}  // namespace ganglion::lab

int main(int argc, char** argv) {
  using namespace ganglion::lab;
  LabOptions o;
  o.models = "dcgan64";
  o.reps = 50;
  const int code = parse_options("adam_lab", "Fused Adam lab: one flat buffer and per parameter", argc, argv, o);
  if (code >= 0) return code;
  return run_lab("adam_lab", [&] { return run(o); });
}
