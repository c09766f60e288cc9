// benchmarks/kernels/conv_lab.cpp — the convolution lab (issue 9). At every convolution of the real DCGAN-28
// (batch 64) and DCGAN-64 (batch 128) models, the three kernels a training step runs per layer (forward,
// backward-data, backward-weight; a ConvTranspose2d's forward is backward-data and its input gradient is forward):
//   CPU path (always): the CPU twin ganglion::cpu::conv2d_* against the direct definition (conv_reference.h) at
//     every output element (--check full) or a random sample of them (--check sample).
//   GPU path (when a GPU is usable): ours (ganglion::cuda::conv2d_*), our strict-FP32 cuDNN oracle
//     (ganglion::cudnn::conv2d_*), cuDNN's fastest algorithm from cudnnFind*AlgorithmEx in strict FP32 and with
//     default math (TF32 tensor cores allowed), and im2col + cuBLAS in FP32 and TF32 — each validated against the
//     CPU twin's output on the same inputs, then timed (L2 flushed, CUDA events, median of --reps), with TFLOP/s,
//     % of the measured FP32 and TF32 GEMM ceilings and the time over the floor.
// Exit status 1 when any validation fails, 2 on bad flags.
#include <CLI/CLI.hpp>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>

#include "benchmarks/kernels/conv_reference.h"
#include "benchmarks/kernels/lab_models.h"
#include "benchmarks/kernels/lab_util.h"
#include "kernels/conv.h"

#ifdef GANGLION_HAS_CUDA
#include "benchmarks/kernels/conv_cudnn_find.h"
#include "benchmarks/kernels/conv_im2col.h"
#include "benchmarks/kernels/lab_gpu.h"
#include "kernels/device.h"
#endif

namespace ganglion::lab {
namespace {

using ConvFn = void (*)(Stream, const ConvShape&, const float*, const float*, float*);
constexpr std::array<ConvDir, 3> kDirs = {ConvDir::Forward, ConvDir::BackwardData, ConvDir::BackwardWeight};
constexpr std::array<ConvFn, 3> kCpuFns = {cpu::conv2d_forward, cpu::conv2d_backward_data, cpu::conv2d_backward_weight};

// What the kernel is in the layer's training step.
std::string role(const ConvLayer& l, ConvDir d) {
  switch (d) {
    case ConvDir::Forward:
      return l.transposed ? "input grad" : "forward";
    case ConvDir::BackwardData:
      return l.transposed ? "forward" : "input grad";
    case ConvDir::BackwardWeight:
      return "weight grad";
  }
  return "?";
}

// The layer's random operands and the CPU twin's outputs, per direction.
struct LayerData {
  std::vector<float> x, w, dy;
  std::array<std::vector<float>, 3> out;  // y, dx, dw
  const std::vector<float>& a(ConvDir d) const { return d == ConvDir::BackwardData ? dy : x; }
  const std::vector<float>& b(ConvDir d) const { return d == ConvDir::BackwardWeight ? dy : w; }
};

#ifdef GANGLION_HAS_CUDA

// Compulsory bytes of any direction: its two operands read once and its output written once, which are always x,
// w and y (or their gradients) once each.
double conv_bytes(const ConvShape& c) {
  return 4.0 * (double(c.N) * c.C * c.H * c.W + double(c.K) * c.C * c.R * c.S + double(c.N) * c.K * c.P * c.Q);
}

struct GpuContext {
  Ceilings ceil;
  int warmup = 0, reps = 0;
  Checks* checks = nullptr;
  Table* table = nullptr;
  std::map<std::string, std::array<double, 2>>* totals = nullptr;  // "model|impl" -> {sum µs, sum floor µs}
};

// Validates and times every GPU implementation of one (layer, direction) and adds their rows.
void gpu_rows(GpuContext& g, const std::string& model, const ConvLayer& l, ConvDir d, const LayerData& data) {
  const ConvShape& c = l.shape;
  const int di = static_cast<int>(d);
  const std::vector<float>& ref = data.out[di];
  DeviceBuffer a(data.a(d)), b(data.b(d)), out(ref.size());
  const double flops = conv_flops(c), bytes = conv_bytes(c);
  auto add = [&](const std::string& impl, const std::string& algo, bool tf32, const std::function<void()>& run) {
    out.poison();
    run();
    const double err = max_rel_err(out.download(), ref);
    const std::string ok =
        g.checks->record(l.name + " " + conv_dir_name(d) + " " + impl, err, tf32 ? kTolTf32 : kTolFp32);
    const Timing t = time_gpu(run, g.warmup, g.reps);
    const double us = t.median_ms * 1e3;
    const double peak = tf32 ? g.ceil.tf32_tflops : g.ceil.fp32_tflops;
    const double floor_us = std::max(flops / (peak * 1e12), bytes / (g.ceil.copy_gbps * 1e9)) * 1e6;
    const double tflops = flops / (us * 1e-6) * 1e-12;
    g.table->add({l.name, role(l, d), conv_dir_name(d), impl, algo, fixed(us, 1), fixed(tflops, 2),
                  percent(tflops, g.ceil.fp32_tflops), percent(tflops, g.ceil.tf32_tflops), fixed(floor_us, 1),
                  fixed(us / floor_us, 1), sci(err), ok});
    auto& tot = (*g.totals)[model + "|" + impl];
    tot[0] += us;
    tot[1] += floor_us;
  };
  constexpr std::array<ConvFn, 3> ours = {cuda::conv2d_forward, cuda::conv2d_backward_data,
                                          cuda::conv2d_backward_weight};
  constexpr std::array<ConvFn, 3> oracle = {cudnn::conv2d_forward, cudnn::conv2d_backward_data,
                                            cudnn::conv2d_backward_weight};
  const Stream s = cuda::stream();
  add("ours", "native", false, [&] { ours[di](s, c, a.get(), b.get(), out.get()); });
  add("cudnn-oracle", "fma, heuristic v7", false, [&] { oracle[di](s, c, a.get(), b.get(), out.get()); });
  for (CudnnMath m : {CudnnMath::Fma, CudnnMath::Default}) {
    CudnnFound found(c, d, m, a.get(), b.get(), out.get());
    const std::string impl = m == CudnnMath::Fma ? "cudnn-find-fp32" : "cudnn-find-default";
    if (!found.ok()) {
      g.table->add({l.name, role(l, d), conv_dir_name(d), impl, "skipped: " + found.why()});
      continue;
    }
    // Default math may use TF32 (cuDNN does not always say so in the reported math type): TF32 tolerance and
    // ceiling for that row.
    add(impl, found.algorithm(), m == CudnnMath::Default, [&] { found.run(a.get(), b.get(), out.get()); });
  }
  Im2colConv im2col(c);
  for (GemmMath m : {GemmMath::Fp32, GemmMath::Tf32}) {
    const bool tf32 = m == GemmMath::Tf32;
    add(tf32 ? "im2col-cublas-tf32" : "im2col-cublas-fp32", tf32 ? "COMPUTE_32F_FAST_TF32" : "COMPUTE_32F", tf32, [&] {
      switch (d) {
        case ConvDir::Forward:
          im2col.forward(a.get(), b.get(), out.get(), m);
          break;
        case ConvDir::BackwardData:
          im2col.backward_data(a.get(), b.get(), out.get(), m);
          break;
        case ConvDir::BackwardWeight:
          im2col.backward_weight(a.get(), b.get(), out.get(), m);
          break;
      }
    });
  }
}

#endif  // GANGLION_HAS_CUDA

int run(const LabOptions& o, bool check_all, int64_t samples) {
  const std::vector<LabModel> models = parse_models(o.models, o.batch);
  [[maybe_unused]] const bool gpu = gpu_path(o);
  Report rep;
  rep.lab = "conv";
  rep.device = "CPU only (GPU path not run)";
  rep.notes = {
      "kernels: forward y = conv(x, w); bwd-data dx from (dy, w); bwd-weight dw from (x, dy). A ConvTranspose2d "
      "layer's forward is bwd-data and its input gradient is forward, on the ConvShape printed.",
      "FLOPs (every direction) = 2*N*K*P*Q*C*R*S; bytes = both operands read once + the output written once (4 "
      "bytes each).",
      "floor = max(FLOPs / ceiling rate, bytes / copy bandwidth), with the TF32 ceiling for the rows that may use "
      "TF32 (cudnn-find-default, im2col-cublas-tf32) and the FP32 one otherwise; x floor = time / floor.",
      "validation: CPU twin vs the direct definition in double; GPU implementations vs the CPU twin on the same "
      "inputs. max rel err = max|got - ref| / max|ref|; tolerance " +
          sci(kTolFp32) + " (FP32), " + sci(kTolTf32) + " (rows that may use TF32).",
  };
  Checks checks;
  Table cpu_table({"layer", "role", "kernel", "shape", "GFLOP", "CPU twin ms", "checked", "max rel err", "ok"});
  Table gpu_table({"layer", "role", "kernel", "impl", "algorithm", "us", "TFLOP/s", "% FP32 ceil", "% TF32 ceil",
                   "floor us", "x floor", "max rel err", "ok"});
  std::map<std::string, std::array<double, 2>> totals;
#ifdef GANGLION_HAS_CUDA
  GpuContext g;
  if (gpu) {
    rep.device = device_summary();
    g.ceil = measure_ceilings(o.reps);
    for (const auto& n : g.ceil.notes) rep.notes.push_back(n);
    g.warmup = o.warmup, g.reps = o.reps, g.checks = &checks, g.table = &gpu_table, g.totals = &totals;
  }
#endif
  uint64_t seed = o.seed;
  for (const LabModel& m : models) {
    for (const ConvLayer& l : conv_layers(m)) {
      const ConvShape& c = l.shape;
      LayerData data;
      data.x = uniform(static_cast<size_t>(c.N * c.C * c.H * c.W), seed++);
      data.w = uniform(static_cast<size_t>(c.K * c.C * c.R * c.S), seed++);
      data.dy = uniform(static_cast<size_t>(c.N * c.K * c.P * c.Q), seed++);
      for (ConvDir d : kDirs) {
        const int di = static_cast<int>(d);
        const int64_t count = conv_out_count(d, c);
        data.out[di].assign(static_cast<size_t>(count), NAN);
        const auto t0 = std::chrono::steady_clock::now();
        kCpuFns[di](nullptr, c, data.a(d).data(), data.b(d).data(), data.out[di].data());
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        const std::vector<int64_t> idx = check_indices(count, check_all, samples, seed++);
        const double err = conv_reference_error(d, c, data.a(d).data(), data.b(d).data(), data.out[di].data(), idx);
        const std::string ok = checks.record(l.name + " " + conv_dir_name(d) + " CPU twin vs direct", err, kTolFp32);
        const std::string checked = static_cast<int64_t>(idx.size()) == count
                                        ? "all " + std::to_string(count)
                                        : std::to_string(idx.size()) + " of " + std::to_string(count);
        cpu_table.add({l.name, role(l, d), conv_dir_name(d), conv_str(c), fixed(conv_flops(c) * 1e-9, 3), fixed(ms, 1),
                       checked, sci(err), ok});
#ifdef GANGLION_HAS_CUDA
        if (gpu) gpu_rows(g, m.name, l, d, data);
#endif
      }
    }
  }
  rep.tables.emplace_back("CPU twin vs direct definition", cpu_table);
  rep.add_gpu_table(o, gpu_table, "GPU implementations");
  if (!gpu_table.empty()) {
    Table summary({"model", "impl", "sum us (all layers, 3 kernels each)", "sum floor us", "x floor"});
    for (const auto& [key, v] : totals) {
      const size_t bar = key.find('|');
      summary.add({key.substr(0, bar), key.substr(bar + 1), fixed(v[0], 1), fixed(v[1], 1), fixed(v[0] / v[1], 2)});
    }
    rep.tables.emplace_back("Summary per model", summary);
  }
  return rep.finish(o, checks);
}

}  // namespace
}  // namespace ganglion::lab

int main(int argc, char** argv) {
  using namespace ganglion::lab;
  LabOptions o;
  o.models = "dcgan28,dcgan64";
  o.reps = 20;
  std::string check = "sample";
  int64_t samples = 1000;
  const int code = parse_options("conv_lab", "Convolution lab: ours vs cuDNN vs im2col+cuBLAS at DCGAN layer shapes",
                                 argc, argv, o, [&](CLI::App& app) {
                                   app.add_option("--check", check, "CPU twin vs direct definition: full or sample")
                                       ->capture_default_str()
                                       ->check(CLI::IsMember({"full", "sample"}));
                                   app.add_option("--samples", samples, "elements per output checked by --check sample")
                                       ->capture_default_str()
                                       ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
                                 });
  if (code >= 0) return code;
  return run_lab("conv_lab", [&] { return run(o, check == "full", samples); });
}
