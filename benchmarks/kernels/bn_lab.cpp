// benchmarks/kernels/bn_lab.cpp — the batch-normalisation lab (issue 9), at every BatchNorm of the real DCGAN-64
// (batch 128): training forward and backward, and BatchNorm followed by its ReLU/LeakyReLU as the engine runs it
// today — separate kernels, as there is no fused kernel yet: forward = batchnorm_forward_train + unary(act),
// backward = unary(act mask of the BN output) + binary(mul) + batchnorm_backward.
//   CPU path (always): the CPU twins (ganglion::cpu::batchnorm_*, unary, binary) against a two-pass reference in
//     double written here.
//   GPU path: ours (ganglion::cuda::*) and cuDNN (ganglion::cudnn::batchnorm_*, with our activation kernels for the
//     BN+act rows), validated against the CPU twins on the same inputs, timed (L2 flushed, CUDA events, median),
//     GB/s on the compulsory bytes against the measured device-to-device copy bandwidth.
// Exit status 1 when any validation fails, 2 on bad flags.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <functional>

#include "benchmarks/kernels/lab_models.h"
#include "benchmarks/kernels/lab_util.h"
#include "kernels/batchnorm.h"
#include "kernels/elementwise.h"

#ifdef GANGLION_HAS_CUDA
#include "benchmarks/kernels/lab_gpu.h"
#include "kernels/device.h"
#endif

namespace ganglion::lab {
namespace {

constexpr float kMomentum = 0.1f, kEps = 1e-5f;

// One layer's inputs and the outputs of every op (filled by the CPU twins or the reference).
struct BnData {
  std::vector<float> x, gamma, beta, running_mean, running_var, dy;  // inputs
  std::vector<float> y, mean, invstd, new_rm, new_rv;                // bn forward
  std::vector<float> dx, dgamma, dbeta;                              // bn backward (upstream dy)
  std::vector<float> act;                                            // act(y)
  std::vector<float> act_dx, act_dgamma, act_dbeta;                  // BN+act backward (upstream dy)
};

BnData make_inputs(const BnLayer& l, uint64_t seed) {
  const size_t n = static_cast<size_t>(l.N * l.C * l.L), c = static_cast<size_t>(l.C);
  BnData d;
  d.x = uniform(n, seed, -1.f, 2.f);  // off-centre, so that the mean matters
  d.gamma = uniform(c, seed + 1, 0.5f, 1.5f);
  d.beta = uniform(c, seed + 2, -0.5f, 0.5f);
  d.running_mean = uniform(c, seed + 3, -0.2f, 0.2f);
  d.running_var = uniform(c, seed + 4, 0.5f, 1.5f);
  d.dy = uniform(n, seed + 5);
  return d;
}

float act_slope(const BnLayer& l) { return l.leaky ? l.slope : 0.f; }

// The two-pass reference in double: statistics, y, running stats, act, and both backwards.
BnData reference(const BnLayer& l, const BnData& in) {
  BnData r = in;
  const int64_t N = l.N, C = l.C, L = l.L, count = N * L;
  const size_t n = in.x.size();
  r.y.resize(n), r.act.resize(n), r.dx.resize(n), r.act_dx.resize(n);
  r.mean.resize(C), r.invstd.resize(C), r.new_rm.resize(C), r.new_rv.resize(C);
  r.dgamma.resize(C), r.dbeta.resize(C), r.act_dgamma.resize(C), r.act_dbeta.resize(C);
  const float slope = act_slope(l);
  auto at = [&](int64_t i, int64_t c, int64_t j) { return static_cast<size_t>((i * C + c) * L + j); };
#pragma omp parallel for
  for (int64_t c = 0; c < C; ++c) {
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j < L; ++j) sum += in.x[at(i, c, j)];
    const double mean = sum / count;
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j < L; ++j) sq += (in.x[at(i, c, j)] - mean) * (in.x[at(i, c, j)] - mean);
    const double var = sq / count, invstd = 1.0 / std::sqrt(var + kEps);
    r.mean[c] = static_cast<float>(mean), r.invstd[c] = static_cast<float>(invstd);
    r.new_rm[c] = static_cast<float>((1 - kMomentum) * in.running_mean[c] + kMomentum * mean);
    r.new_rv[c] = static_cast<float>((1 - kMomentum) * in.running_var[c] + kMomentum * var * count / (count - 1));
    // Backward for an upstream gradient g: dx = gamma*invstd*(g - mean(g) - xhat*mean(g*xhat)).
    auto backward = [&](const std::function<double(size_t)>& g, std::vector<float>& dx, float& dgamma, float& dbeta) {
      double sg = 0, sgx = 0;
      for (int64_t i = 0; i < N; ++i)
        for (int64_t j = 0; j < L; ++j) {
          const size_t k = at(i, c, j);
          sg += g(k);
          sgx += g(k) * (in.x[k] - mean) * invstd;
        }
      for (int64_t i = 0; i < N; ++i)
        for (int64_t j = 0; j < L; ++j) {
          const size_t k = at(i, c, j);
          const double xhat = (in.x[k] - mean) * invstd;
          dx[k] = static_cast<float>(in.gamma[c] * invstd * (g(k) - sg / count - xhat * sgx / count));
        }
      dgamma = static_cast<float>(sgx), dbeta = static_cast<float>(sg);
    };
    std::vector<double> pre(static_cast<size_t>(N * L));  // this channel's BN output, in double
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j < L; ++j) {
        const size_t k = at(i, c, j);
        const double y = (in.x[k] - mean) * invstd * in.gamma[c] + in.beta[c];
        pre[static_cast<size_t>(i * L + j)] = y;
        r.y[k] = static_cast<float>(y);
        r.act[k] = static_cast<float>(y > 0 ? y : slope * y);
      }
    backward([&](size_t k) { return double(in.dy[k]); }, r.dx, r.dgamma[c], r.dbeta[c]);
    backward(
        [&](size_t k) {
          const size_t local = static_cast<size_t>((k / static_cast<size_t>(C * L)) * L + k % static_cast<size_t>(L));
          return in.dy[k] * (pre[local] > 0 ? 1.0 : slope);
        },
        r.act_dx, r.act_dgamma[c], r.act_dbeta[c]);
  }
  return r;
}

// The kernel families of one implementation, as function pointers (the twins share signatures).
struct BnKernels {
  decltype(&cpu::batchnorm_forward_train) forward;
  decltype(&cpu::batchnorm_backward) backward;
  decltype(&cpu::unary) unary;
  decltype(&cpu::binary) binary;
};

BroadcastShape flat(int64_t n) {
  BroadcastShape s;
  s.ndim = 1, s.shape[0] = n, s.stride_a[0] = 1, s.stride_b[0] = 1;
  return s;
}

// Raw pointers of one layer's buffers, wherever they live (host vectors for the CPU, device buffers for CUDA).
struct BnPtrs {
  const float *x, *gamma, *beta, *dy;
  float *running_mean, *running_var, *y, *mean, *invstd, *dx, *dgamma, *dbeta, *act, *mask, *gin;
};

// The four ops as the engine issues them. run_* overwrite their outputs in p.
void run_bn_forward(const BnKernels& k, Stream s, const BnLayer& l, const BnPtrs& p) {
  k.forward(s, p.x, p.gamma, p.beta, p.y, p.mean, p.invstd, p.running_mean, p.running_var, l.N, l.C, l.L, kMomentum,
            kEps);
}
void run_bn_backward(const BnKernels& k, Stream s, const BnLayer& l, const BnPtrs& p) {
  k.backward(s, p.x, p.dy, p.gamma, p.mean, p.invstd, p.dx, p.dgamma, p.dbeta, l.N, l.C, l.L);
}
void run_act_forward(const BnKernels& k, Stream s, const BnLayer& l, const BnPtrs& p) {
  run_bn_forward(k, s, l, p);
  k.unary(s, l.leaky ? UnaryOp::LeakyRelu : UnaryOp::Relu, p.y, p.act, l.N * l.C * l.L, UnaryParams{act_slope(l), 0});
}
// Needs p.y (the BN output) and p.mean/p.invstd from the forward.
void run_act_backward(const BnKernels& k, Stream s, const BnLayer& l, const BnPtrs& p) {
  const int64_t n = l.N * l.C * l.L;
  k.unary(s, l.leaky ? UnaryOp::LeakyMask : UnaryOp::ReluMask, p.y, p.mask, n, UnaryParams{act_slope(l), 0});
  k.binary(s, BinaryOp::Mul, p.dy, p.mask, p.gin, flat(n));
  k.backward(s, p.x, p.gin, p.gamma, p.mean, p.invstd, p.dx, p.dgamma, p.dbeta, l.N, l.C, l.L);
}

// The CPU twins on host vectors: returns the outputs in a BnData (act_* from the BN+act sequence).
BnData cpu_twin(const BnLayer& l, const BnData& in) {
  const BnKernels k{cpu::batchnorm_forward_train, cpu::batchnorm_backward, cpu::unary, cpu::binary};
  BnData o = in;
  const size_t n = in.x.size(), c = static_cast<size_t>(l.C);
  std::vector<float> mask(n), gin(n);
  o.y.assign(n, NAN), o.act.assign(n, NAN), o.dx.assign(n, NAN), o.act_dx.assign(n, NAN);
  o.mean.assign(c, NAN), o.invstd.assign(c, NAN), o.dgamma.assign(c, NAN), o.dbeta.assign(c, NAN);
  o.act_dgamma.assign(c, NAN), o.act_dbeta.assign(c, NAN);
  o.new_rm = in.running_mean, o.new_rv = in.running_var;
  BnPtrs p{o.x.data(),      o.gamma.data(), o.beta.data(), o.dy.data(),     o.new_rm.data(),
           o.new_rv.data(), o.y.data(),     o.mean.data(), o.invstd.data(), o.dx.data(),
           o.dgamma.data(), o.dbeta.data(), o.act.data(),  mask.data(),     gin.data()};
  run_act_forward(k, nullptr, l, p);
  run_bn_backward(k, nullptr, l, p);
  BnPtrs q = p;
  q.dx = o.act_dx.data(), q.dgamma = o.act_dgamma.data(), q.dbeta = o.act_dbeta.data();
  run_act_backward(k, nullptr, l, q);
  return o;
}

// The largest max rel err over pairs of outputs.
double worst(std::initializer_list<std::pair<const std::vector<float>*, const std::vector<float>*>> pairs) {
  double e = 0;
  for (const auto& [got, ref] : pairs) e = std::max(e, max_rel_err(*got, *ref));
  return std::isnan(e) ? INFINITY : e;
}

double fwd_err(const BnData& got, const BnData& ref) {
  return worst({{&got.y, &ref.y},
                {&got.mean, &ref.mean},
                {&got.invstd, &ref.invstd},
                {&got.new_rm, &ref.new_rm},
                {&got.new_rv, &ref.new_rv}});
}
double bwd_err(const BnData& got, const BnData& ref) {
  return worst({{&got.dx, &ref.dx}, {&got.dgamma, &ref.dgamma}, {&got.dbeta, &ref.dbeta}});
}
double act_fwd_err(const BnData& got, const BnData& ref) { return worst({{&got.act, &ref.act}}); }
double act_bwd_err(const BnData& got, const BnData& ref) {
  return worst({{&got.act_dx, &ref.act_dx}, {&got.act_dgamma, &ref.act_dgamma}, {&got.act_dbeta, &ref.act_dbeta}});
}

const char* kOps[] = {"bn fwd (train)", "bn bwd", "bn+act fwd", "bn+act bwd"};
const char* kKernels[] = {"1", "1", "2 (bn, act): no fused kernel yet", "3 (mask, mul, bn bwd): no fused kernel yet"};

// Compulsory bytes of each op (fused, reading each input and writing each output once), and the bytes the
// launched sequence moves at least (each kernel reading its inputs and writing its outputs once).
double floor_bytes(int op, const BnLayer& l) {
  const double n = double(l.N) * l.C * l.L, c = double(l.C);
  const double table[] = {4 * (2 * n + 8 * c), 4 * (3 * n + 5 * c), 4 * (2 * n + 8 * c), 4 * (3 * n + 6 * c)};
  return table[op];
}
double sequence_bytes(int op, const BnLayer& l) {
  const double n = double(l.N) * l.C * l.L;
  const double extra[] = {0, 0, 2 * n * 4, 5 * n * 4};  // act: read y, write a; mask: 2n, mul: 3n
  return floor_bytes(op, l) + extra[op];
}

#ifdef GANGLION_HAS_CUDA

struct DeviceBn {
  DeviceBuffer x, gamma, beta, dy, rm, rv, y, mean, invstd, dx, dgamma, dbeta, act, mask, gin;
  explicit DeviceBn(const BnData& in)
      : x(in.x),
        gamma(in.gamma),
        beta(in.beta),
        dy(in.dy),
        rm(in.running_mean),
        rv(in.running_var),
        y(in.x.size()),
        mean(in.gamma.size()),
        invstd(in.gamma.size()),
        dx(in.x.size()),
        dgamma(in.gamma.size()),
        dbeta(in.gamma.size()),
        act(in.x.size()),
        mask(in.x.size()),
        gin(in.x.size()) {
    // Outputs start as NaN: an element a kernel fails to write cannot pass validation on stale correct values
    // that the caching allocator handed back from an earlier op.
    for (DeviceBuffer* b : {&y, &mean, &invstd, &dx, &dgamma, &dbeta, &act, &mask, &gin}) b->poison();
  }
  BnPtrs ptrs() const {
    return {x.get(),      gamma.get(), beta.get(),   dy.get(),    rm.get(),  rv.get(),   y.get(),  mean.get(),
            invstd.get(), dx.get(),    dgamma.get(), dbeta.get(), act.get(), mask.get(), gin.get()};
  }
};

void gpu_rows(const BnLayer& l, const BnData& in, const BnData& twin, const Ceilings& ceil, const LabOptions& o,
              Checks& checks, Table& table) {
  const BnKernels ours{cuda::batchnorm_forward_train, cuda::batchnorm_backward, cuda::unary, cuda::binary};
  const BnKernels dnn{cudnn::batchnorm_forward_train, cudnn::batchnorm_backward, cuda::unary, cuda::binary};
  const Stream s = cuda::stream();
  struct Impl {
    const char* name;
    BnKernels k;
  };
  for (const Impl& impl_k : {Impl{"ours", ours}, Impl{"cudnn (act: ours)", dnn}}) {
    const std::string impl = impl_k.name;
    const BnKernels& k = impl_k.k;
    for (int op = 0; op < 4; ++op) {
      DeviceBn dev(in);
      const BnPtrs p = dev.ptrs();
      // Backward ops read the CPU twin's saved statistics (and, for BN+act, its BN output), as kernels/batchnorm.h
      // lets them; the forward ops start from the input running statistics.
      if (op == 1 || op == 3) {
        dev.mean.upload(twin.mean), dev.invstd.upload(twin.invstd), dev.y.upload(twin.y);
      }
      std::function<void()> run;
      switch (op) {
        case 0:
          run = [&, p] { run_bn_forward(k, s, l, p); };
          break;
        case 1:
          run = [&, p] { run_bn_backward(k, s, l, p); };
          break;
        case 2:
          run = [&, p] { run_act_forward(k, s, l, p); };
          break;
        default:
          run = [&, p] { run_act_backward(k, s, l, p); };
          break;
      }
      run();
      BnData got;
      got.y = dev.y.download(), got.mean = dev.mean.download(), got.invstd = dev.invstd.download();
      got.new_rm = dev.rm.download(), got.new_rv = dev.rv.download(), got.act = dev.act.download();
      got.dx = dev.dx.download(), got.dgamma = dev.dgamma.download(), got.dbeta = dev.dbeta.download();
      got.act_dx = got.dx, got.act_dgamma = got.dgamma, got.act_dbeta = got.dbeta;
      const double err = op == 0   ? fwd_err(got, twin)
                         : op == 1 ? bwd_err(got, twin)
                         : op == 2 ? std::max(fwd_err(got, twin), act_fwd_err(got, twin))
                                   : act_bwd_err(got, twin);
      const std::string ok = checks.record(l.name + " " + kOps[op] + " " + impl + " vs CPU twin", err, kTolFp32);
      const Timing t = time_gpu(run, o.warmup, o.reps);
      const double us = t.median_ms * 1e3, bytes = floor_bytes(op, l);
      const double gbps = bytes / (us * 1e-6) * 1e-9, floor_us = bytes / (ceil.copy_gbps * 1e9) * 1e6;
      table.add({l.name, kOps[op], impl, kKernels[op], fixed(bytes / 1e6, 2), fixed(sequence_bytes(op, l) / 1e6, 2),
                 fixed(us, 1), fixed(gbps, 0), percent(gbps, ceil.copy_gbps), fixed(floor_us, 1),
                 fixed(us / floor_us, 1), sci(err), ok});
    }
  }
}

#endif  // GANGLION_HAS_CUDA

int run(const LabOptions& o) {
  const std::vector<LabModel> models = parse_models(o.models, o.batch);
  [[maybe_unused]] const bool gpu = gpu_path(o);
  Report rep;
  rep.lab = "bn";
  rep.device = "CPU only (GPU path not run)";
  rep.notes = {
      "ops: bn fwd = batchnorm_forward_train (batch statistics, running-stat update); bn bwd = batchnorm_backward; "
      "bn+act = BatchNorm then the model's ReLU / LeakyReLU as the engine runs it today, unfused (no fused kernel "
      "yet).",
      "floor MB = compulsory bytes of the op done in one pass: inputs read once, outputs written once (fwd 8n, bwd "
      "12n, plus per-channel vectors); seq MB = the least the launched kernel sequence moves (act: +8n; mask and "
      "mul: +20n).",
      "GB/s = floor bytes / median time; floor us = floor bytes / copy bandwidth; x floor = time / floor.",
      "validation: CPU twins vs a two-pass reference in double; GPU vs the CPU twins on the same inputs. max rel "
      "err = max|got - ref| / max|ref| over every output of the op; tolerance " +
          sci(kTolFp32) + ".",
  };
  Checks checks;
  Table cpu_table({"layer", "N,C,L", "act", "bn fwd err", "bn bwd err", "bn+act fwd err", "bn+act bwd err", "ok"});
  Table gpu_table({"layer", "op", "impl", "kernels", "floor MB", "seq MB", "us", "GB/s", "% copy BW", "floor us",
                   "x floor", "max rel err", "ok"});
#ifdef GANGLION_HAS_CUDA
  Ceilings ceil;
  if (gpu) {
    rep.device = device_summary();
    ceil = measure_ceilings(o.reps);
    rep.notes.push_back(ceil.notes[2]);
  }
#endif
  uint64_t seed = o.seed;
  for (const LabModel& m : models) {
    for (const BnLayer& l : bn_layers(m)) {
      const BnData in = make_inputs(l, seed);
      seed += 16;
      const BnData ref = reference(l, in), twin = cpu_twin(l, in);
      const double e[4] = {fwd_err(twin, ref), bwd_err(twin, ref), act_fwd_err(twin, ref), act_bwd_err(twin, ref)};
      std::string ok = "ok";
      for (int op = 0; op < 4; ++op)
        if (checks.record(l.name + " " + kOps[op] + " CPU twin vs reference", e[op], kTolFp32) != "ok") ok = "FAIL";
      const std::string act = l.leaky ? "LeakyReLU(" + fixed(l.slope, 2) + ")" : "ReLU";
      cpu_table.add({l.name, std::to_string(l.N) + "," + std::to_string(l.C) + "," + std::to_string(l.L), act,
                     sci(e[0]), sci(e[1]), sci(e[2]), sci(e[3]), ok});
#ifdef GANGLION_HAS_CUDA
      if (gpu) gpu_rows(l, in, twin, ceil, o, checks, gpu_table);
#endif
    }
  }
  rep.tables.emplace_back("CPU twins vs two-pass reference", cpu_table);
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
  const int code =
      parse_options("bn_lab", "BatchNorm lab: ours vs cuDNN, and BN+activation as the engine runs it", argc, argv, o);
  if (code >= 0) return code;
  return run_lab("bn_lab", [&] { return run(o); });
}
