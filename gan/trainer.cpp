// gan/trainer.cpp — the training loop and its run folder (config.json, metrics.jsonl, samples/, checkpoints/,
// final.json, report.html), with the NaN/Inf check before every update and the on_nan policies.
#include "gan/trainer.h"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/autograd.h"
#include "core/ops.h"
#include "gan/image_grid.h"
#include "gan/models.h"
#include "gan/plot2d.h"
#include "gan/report.h"

namespace ganglion {

namespace fs = std::filesystem;

uint64_t derive_seed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

namespace {
enum Stream : uint64_t { kInit = 0, kNoise = 1, kData = 2, kFixed = 3 };
constexpr int64_t kGridImages = 64;  // image runs: an 8 x 8 sample grid

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

std::string duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  long t = std::lround(s);
  if (t >= 3600) return std::to_string(t / 3600) + "h" + std::to_string(t / 60 % 60) + "m";
  if (t >= 60) return std::to_string(t / 60) + "m" + std::to_string(t % 60) + "s";
  return std::to_string(t) + "s";
}

void write_text(const fs::path& p, const std::string& s) {
  std::ofstream f(p);
  f << s;
  if (!f) throw Error("cannot write '" + p.string() + "': " + std::strerror(errno));
}

// Keeps the metrics lines with step <= last (a resumed run rewrites what came after its checkpoint).
void truncate_metrics(const fs::path& p, int64_t last) {
  std::ifstream in(p);
  if (!in) return;
  std::string line, kept;
  while (std::getline(in, line)) {
    try {
      if (nlohmann::json::parse(line).value("step", int64_t{0}) <= last) kept += line + "\n";
    } catch (const std::exception&) {
    }
  }
  in.close();
  write_text(p, kept);
}
}  // namespace

Tensor sample_generator(Module& g, const Tensor& z) {
  bool was = g.is_training();
  g.eval();
  Tensor x;
  {
    NoGradGuard ng;
    x = g(z);
  }
  g.train(was);
  return x;
}

std::shared_ptr<Sequential> generator_from_checkpoint(const Checkpoint& ck, bool ema, Device d) {
  Generator init(derive_seed(ck.config.seed, kInit));
  auto g = make_generator(ck.config, init);
  try {
    g->load_state_dict(ema && ck.has_part("G_ema.") ? ck.part("G_ema.") : ck.part("G."));
  } catch (const Error& e) {
    throw Error("checkpoint '" + ck.path + "': " + e.what());
  }
  g->to(d);
  g->eval();
  return g;
}

Trainer::Trainer(const TrainConfig& config, const std::string& run_dir)
    : cfg_(config),
      run_dir_(run_dir),
      rng_(derive_seed(config.seed, kNoise)) {
  validate(cfg_);
  device_ = resolve_device(cfg_.device, &device_message_);
  data_ = make_data_source(cfg_, derive_seed(cfg_.seed, kData));
  loss_ = parse_gan_loss(cfg_.loss);
  penalty_ = parse_penalty(cfg_.penalty);
  Generator init(derive_seed(cfg_.seed, kInit));
  g_ = make_generator(cfg_, init);
  d_ = make_critic(cfg_, init);
  g_->to(device_);
  d_->to(device_);
  if (cfg_.ema_decay > 0) {
    ema_ = make_generator(cfg_, init);
    ema_->load_state_dict(g_->state_dict());
    ema_->to(device_);
    ema_->eval();
  }
  g_params_ = prefixed(g_->named_parameters(), "G.");
  d_params_ = prefixed(d_->named_parameters(), "D.");
  opt_g_ = std::make_unique<Adam>(g_->parameters(), cfg_.lr_g, cfg_.beta1, cfg_.beta2);
  opt_d_ = std::make_unique<Adam>(d_->parameters(), cfg_.lr_d, cfg_.beta1, cfg_.beta2);
  std::error_code ec;
  fs::create_directories(fs::path(run_dir_) / "samples", ec);
  if (ec) throw Error("cannot create run folder '" + run_dir_ + "': " + ec.message());
  write_text(fs::path(run_dir_) / "config.json", to_json(cfg_).dump(2) + "\n");
}

std::unique_ptr<Trainer> Trainer::resume(const std::string& run_dir_or_file, const ResumeOverrides& o,
                                         std::ostream* log) {
  std::string file = resolve_checkpoint(run_dir_or_file);
  Checkpoint ck;
  try {
    ck = read_checkpoint(file);
  } catch (const Error& e) {
    std::string before = previous_checkpoint(file);
    if (before.empty()) throw;
    throw Error(std::string(e.what()) + "; the previous checkpoint '" + before +
                "' is untouched: continue from it with --resume " + before);
  }
  TrainConfig c = ck.config;
  if (o.steps > 0) c.steps = o.steps;
  if (!o.device.empty()) c.device = o.device;
  if (!o.data_path.empty()) c.data_path = o.data_path;
  // The run folder is the checkpoint's grandparent (<run>/checkpoints/step_N.safetensors).
  std::string run_dir = fs::path(file).parent_path().parent_path().string();
  if (run_dir.empty()) run_dir = ".";
  auto t = std::make_unique<Trainer>(c, run_dir);
  restore_checkpoint(ck, t->parts(), &c);
  t->step_ = ck.step;
  truncate_metrics(fs::path(run_dir) / "metrics.jsonl", ck.step);
  if (log) *log << "resuming " << file << " at step " << ck.step << " of " << c.steps << "\n";
  return t;
}

void Trainer::set_nan_policy(const TrainConfig& c) {
  TrainConfig next = cfg_;
  next.on_nan = c.on_nan;
  next.nan_lr_cut = c.nan_lr_cut;
  next.nan_max_rollbacks = c.nan_max_rollbacks;
  validate(next);
  cfg_ = next;
  write_text(fs::path(run_dir_) / "config.json", to_json(cfg_).dump(2) + "\n");
}

CheckpointParts Trainer::parts() {
  return CheckpointParts{g_.get(), d_.get(), ema_.get(), opt_g_.get(), opt_d_.get(), &rng_, data_.get(), &lr_scale_};
}

void Trainer::set_learning_rates() {
  float f = 1.f;
  if (cfg_.lr_schedule == "linear")
    f = 1.f - (1.f - cfg_.lr_final_frac) * static_cast<float>(step_) / static_cast<float>(cfg_.steps);
  f *= static_cast<float>(lr_scale_);
  opt_g_->set_lr(cfg_.lr_g * f);
  opt_d_->set_lr(cfg_.lr_d * f);
}

namespace {
// Makes `kept` a copy of `live` (tensors are contiguous). Steady state (same names, shapes, dtypes and devices as last step): copies into
// the buffers kept from the previous step, so the per-step snapshot allocates nothing.
void keep_copy(TensorMap& kept, const TensorMap& live) {
  NoGradGuard ng;
  bool reuse = kept.size() == live.size();
  for (auto it = live.begin(); reuse && it != live.end(); ++it) {
    auto k = kept.find(it->first);
    reuse = k != kept.end() && k->second.shape() == it->second.shape() && k->second.dtype() == it->second.dtype() &&
            k->second.device() == it->second.device();
  }
  if (reuse) {
    for (const auto& [name, t] : live) copy_(kept[name], t);
    return;
  }
  kept.clear();
  for (const auto& [name, t] : live) kept[name] = t.contiguous_copy();
}
}  // namespace

void Trainer::remember_step_start() {
  keep_copy(step_start_.d_state, d_->state_dict());
  keep_copy(step_start_.opt_d_state, opt_d_->state_dict());
  TensorMap g_buffers;
  for (const auto& [name, t] : g_->named_buffers()) g_buffers[name] = t;
  keep_copy(step_start_.g_buffers, g_buffers);
  step_start_.rng_seed = rng_.seed();
  step_start_.rng_offset = rng_.offset();
  step_start_.data_state = data_->state();
}

void Trainer::undo_step() {
  d_->load_state_dict(step_start_.d_state);
  opt_d_->load_state_dict(step_start_.opt_d_state);
  g_->load_state_dict(step_start_.g_buffers, /*strict=*/false);
}

void Trainer::rewind_noise_and_data_to_step_start() {
  rng_.set_state(step_start_.rng_seed, step_start_.rng_offset);
  data_->set_state(step_start_.data_state);
}

bool Trainer::check_update(const char* model, int64_t update, std::vector<NamedLoss> losses, Module& m,
                           const NamedTensors& params, double* grad_norm, StepLosses& out) {
  if (update_hook_) update_hook_(step_ + 1, model, losses, m);
  GuardResult r = check_finite(losses, params);
  if (r.finite) {
    *grad_norm = r.grad_norm;
    return true;
  }
  std::string which = std::string(model) + " update";
  if (update >= 0) which += " " + std::to_string(update + 1) + " of " + std::to_string(cfg_.n_critic);
  out.nonfinite = "non-finite value at step " + std::to_string(step_ + 1) + " (" + which + "): " + r.where;
  undo_step();
  return false;
}

StepLosses Trainer::train_step() {
  set_learning_rates();
  remember_step_start();
  const bool bce = loss_ == GanLoss::Minimax || loss_ == GanLoss::NonSaturating;
  auto score = [&](const Tensor& s) { return static_cast<double>((bce ? mean(sigmoid(s)) : mean(s)).item()); };
  const int64_t pack = critic_pack(cfg_);
  StepLosses out;
  for (int64_t k = 0; k < cfg_.n_critic; ++k) {
    Tensor real = data_->sample(cfg_.batch, device_);
    Tensor fake;
    {
      NoGradGuard ng;
      fake = (*g_)(draw_noise(cfg_, cfg_.batch, rng_, device_));
    }
    Tensor r = (*d_)(real), f = (*d_)(fake);
    Tensor base = d_loss(loss_, r, f, cfg_.label_smoothing), pen;
    if (penalty_ == Penalty::GradientPenalty) pen = wgan_gp(*d_, real, fake, cfg_.lambda_gp, rng_, pack);
    if (penalty_ == Penalty::R1) pen = r1_penalty(*d_, real, cfg_.gamma_r1, pack);
    Tensor loss = pen.defined() ? add(base, pen) : base;
    opt_d_->zero_grad();
    loss.backward();
    std::vector<NamedLoss> checked = {{"loss_d (the " + cfg_.loss + " critic loss)", base}};
    if (pen.defined()) checked.push_back({"the " + cfg_.penalty + " penalty", pen});
    if (!check_update("critic", k, std::move(checked), *d_, d_params_, &out.grad_norm_d, out)) return out;
    opt_d_->step();
    if (penalty_ == Penalty::WeightClip) clip_weights(*d_, cfg_.clip);
    if (k + 1 == cfg_.n_critic) {
      out.loss_d = loss.item();
      out.penalty = pen.defined() ? static_cast<double>(pen.item()) : 0.0;
      out.d_real = score(r.detach());
      out.d_fake = score(f.detach());
    }
  }
  // Generator step; the critic's weights take no gradient here.
  for (Tensor p : d_->parameters()) p.set_requires_grad(false);
  Tensor f = (*d_)((*g_)(draw_noise(cfg_, cfg_.batch, rng_, device_)));
  Tensor lg = g_loss(loss_, f);
  opt_g_->zero_grad();
  lg.backward();
  for (Tensor p : d_->parameters()) p.set_requires_grad(true);
  if (!check_update("generator", -1, {{"loss_g (the " + cfg_.loss + " generator loss)", lg}}, *g_, g_params_,
                    &out.grad_norm_g, out))
    return out;
  opt_g_->step();
  out.loss_g = lg.item();
  update_ema();
  ++step_;
  return out;
}

void Trainer::update_ema() {
  if (!ema_) return;
  NoGradGuard ng;
  const float a = cfg_.ema_decay;
  // Weights and BatchNorm's running statistics alike: dst = a*dst + (1-a)*src, so the statistics stay those of
  // the averaged weights (a copy of the raw generator's would not fit them); integer buffers are copied.
  auto blend = [a](const NamedTensors& from, NamedTensors to) {
    for (size_t i = 0; i < to.size(); ++i) {
      const Tensor src = from[i].second.detach();
      Tensor& dst = to[i].second;
      copy_(dst, dst.dtype() == DType::F32 ? add(mul_scalar(dst, a), mul_scalar(src, 1.f - a)) : src);
    }
  };
  blend(g_->named_parameters(), ema_->named_parameters());
  blend(g_->named_buffers(), ema_->named_buffers());
}

Tensor Trainer::fixed_noise() const {
  Generator g(derive_seed(cfg_.seed, kFixed));
  return draw_noise(cfg_, data_->mixture() ? cfg_.eval_samples : kGridImages, g, device_);
}

ModeMetrics Trainer::evaluate(uint64_t noise_seed, int64_t n) {
  const Mixture2d* m = data_->mixture();
  if (!m) throw Error("mode metrics need 2-D mixture data, not '" + cfg_.data + "'");
  Generator g(noise_seed);
  return mode_metrics(sample_generator(sampling_model(), draw_noise(cfg_, n, g, device_)), *m);
}

void Trainer::write_samples_png(int64_t step) {
  char name[64];
  std::snprintf(name, sizeof name, "step_%08lld.png", static_cast<long long>(step));
  Tensor x = sample_generator(sampling_model(), fixed_noise());
  const std::string path = (fs::path(run_dir_) / "samples" / name).string();
  if (const Mixture2d* m = data_->mixture())
    write_scatter_png(path, x.to_vector(), *m);
  else
    write_image_grid_png(path, x, 8);
}

std::string Trainer::save_checkpoint() {
  std::string path = checkpoint_path(run_dir_, step_);
  try {
    ganglion::save_checkpoint(path, cfg_, step_, parts());
  } catch (const Error& e) {
    auto all = list_checkpoints(run_dir_);
    std::string kept = all.empty() ? "there is no earlier checkpoint"
                                   : "the last good checkpoint '" + all.back() + "' is untouched";
    throw Error("cannot write checkpoint at step " + std::to_string(step_) + ": " + e.what() + "; " + kept);
  }
  prune_checkpoints(run_dir_, cfg_.keep_checkpoints);
  return path;
}

std::string Trainer::roll_back(std::ostream* log) {
  auto all = list_checkpoints(run_dir_);
  std::string problems;
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    try {
      Checkpoint ck = read_checkpoint(*it);
      const double scale = lr_scale_;  // the cut compounds over this run's rollbacks, never reset by restoring
      restore_checkpoint(ck, parts(), &cfg_);
      lr_scale_ = scale * cfg_.nan_lr_cut;
      step_ = ck.step;
      return *it;
    } catch (const Error& e) {
      if (log) *log << "rollback: skipping unreadable checkpoint: " << e.what() << "\n";
      problems += std::string("; ") + e.what();
    }
  }
  throw Error("rollback: no readable checkpoint in '" + (fs::path(run_dir_) / "checkpoints").string() + "'" +
              problems);
}

TrainResult Trainer::run(const TrainHooks& hooks) {
  using clock = std::chrono::steady_clock;
  TrainResult res;
  res.run_dir = run_dir_;
  const NanPolicy on_nan = parse_nan_policy(cfg_.on_nan);
  std::ostream* events = hooks.events ? hooks.events : hooks.log;
  const Mixture2d* modes = data_->mixture() && data_->mixture()->has_modes() ? data_->mixture() : nullptr;
  res.has_modes = modes != nullptr;
  const fs::path metrics_path = fs::path(run_dir_) / "metrics.jsonl";
  std::ofstream metrics(metrics_path, std::ios::app);
  if (!metrics) throw Error("cannot write '" + metrics_path.string() + "': " + std::strerror(errno));
  if (step_ == 0) write_samples_png(0);
  std::string last_ckpt;
  // A rollback needs a checkpoint to go back to.
  if (on_nan == NanPolicy::Rollback && list_checkpoints(run_dir_).empty()) last_ckpt = save_checkpoint();
  const auto t0 = clock::now();
  auto window_t = t0;
  const int64_t first = step_;
  int64_t window_step = step_;
  while (step_ < cfg_.steps) {
    StepLosses l = train_step();
    bool skipped = false;
    if (!l.nonfinite.empty()) {
      if (on_nan == NanPolicy::Skip) {
        ++step_;  // the step was undone but is spent: its data and noise are not drawn again
        ++res.skipped_steps;
        skipped = true;
        if (events) *events << l.nonfinite << "; step skipped (" << res.skipped_steps << " so far)" << std::endl;
      } else if (on_nan == NanPolicy::Rollback && res.rollbacks < cfg_.nan_max_rollbacks) {
        ++res.rollbacks;
        std::string from = roll_back(events);
        metrics.close();
        truncate_metrics(metrics_path, step_);
        metrics.open(metrics_path, std::ios::app);
        if (!metrics) throw Error("cannot write '" + metrics_path.string() + "': " + std::strerror(errno));
        window_t = clock::now(), window_step = step_;
        if (events)
          *events << l.nonfinite << "; rolled back to step " << step_ << " (" << from << "), learning rates x"
                  << lr_scale_ << " (rollback " << res.rollbacks << " of " << cfg_.nan_max_rollbacks << ")"
                  << std::endl;
        continue;
      } else {
        // stop, or rollbacks used up: keep the last good state, exactly as after step_ steps (the failed step was
        // undone; its noise and data draws are rewound too). A checkpoint already written for it is kept.
        rewind_noise_and_data_to_step_start();
        auto all = list_checkpoints(run_dir_);
        last_ckpt = !all.empty() && all.back() == checkpoint_path(run_dir_, step_) ? all.back() : save_checkpoint();
        res.failed = true;
        res.failure = l.nonfinite + "; " +
                      (on_nan == NanPolicy::Stop ? std::string("stopped (on_nan stop)")
                                                 : "gave up after " + std::to_string(res.rollbacks) +
                                                       " rollback(s) (nan_max_rollbacks " +
                                                       std::to_string(cfg_.nan_max_rollbacks) + ")") +
                      "; the last good state is checkpoint '" + last_ckpt + "' (continue with --resume " + run_dir_ +
                      ", e.g. with --on-nan skip or rollback)";
        if (hooks.log) *hooks.log << res.failure << "\n";
        break;
      }
    }
    const bool last = step_ == cfg_.steps;
    const int stop = hooks.stop ? hooks.stop->load() : 0;
    if (!skipped && (step_ % cfg_.log_every == 0 || last)) {
      auto now = clock::now();
      double dt = std::chrono::duration<double>(now - window_t).count();
      double its = dt > 0 ? static_cast<double>(step_ - window_step) / dt : 0;
      window_t = now, window_step = step_;
      nlohmann::json row = {{"step", step_},
                            {"loss_d", l.loss_d},
                            {"loss_g", l.loss_g},
                            {"d_real", l.d_real},
                            {"d_fake", l.d_fake},
                            {"grad_norm_d", l.grad_norm_d},
                            {"grad_norm_g", l.grad_norm_g},
                            {"seconds", std::chrono::duration<double>(now - t0).count()}};
      if (res.skipped_steps) row["skipped_steps"] = res.skipped_steps;
      const bool has_penalty = penalty_ == Penalty::GradientPenalty || penalty_ == Penalty::R1;
      if (has_penalty) row["penalty"] = l.penalty;
      std::string line = "step " + std::to_string(step_) + "/" + std::to_string(cfg_.steps) + "  " +
                         fmt("%.1f it/s", its) + "  ETA " +
                         duration(its > 0 ? static_cast<double>(cfg_.steps - step_) / its : -1) +
                         "  loss_d " + fmt("%.4f", l.loss_d) + "  loss_g " + fmt("%.4f", l.loss_g) + "  D(x) " +
                         fmt("%.3f", l.d_real) + "  D(G(z)) " + fmt("%.3f", l.d_fake);
      if (has_penalty) line += "  " + cfg_.penalty + " " + fmt("%.4f", l.penalty);
      if (modes) {
        Tensor x = sample_generator(sampling_model(), fixed_noise());
        ModeMetrics m = mode_metrics(x, *modes);
        row["modes"] = m.modes_captured;
        row["hq"] = m.hq_fraction;
        row["rkl"] = m.reverse_kl;
        line += "  modes " + std::to_string(m.modes_captured) + "/" + std::to_string(m.modes_total) + "  hq " +
                fmt("%.1f%%", 100 * m.hq_fraction) + "  kl " + fmt("%.3f", m.reverse_kl);
      }
      metrics << row.dump() << "\n" << std::flush;
      if (!metrics) throw Error("cannot write '" + metrics_path.string() + "': " + std::strerror(errno));
      if (hooks.log) *hooks.log << line << std::endl;
    }
    if (step_ % cfg_.sample_every == 0 || last) write_samples_png(step_);
    if (step_ % cfg_.checkpoint_every == 0 || last || stop) last_ckpt = save_checkpoint();
    if (stop && !last) {
      res.interrupted = true;
      res.stop_signal = stop;
      if (hooks.log) *hooks.log << "stopped at step " << step_ << " (signal " << stop << "); checkpoint " << last_ckpt
                                << "\n";
      break;
    }
  }
  if (last_ckpt.empty() && step_ > first) last_ckpt = save_checkpoint();
  res.step = step_;
  res.seconds = std::chrono::duration<double>(clock::now() - t0).count();
  res.checkpoint = last_ckpt;
  nlohmann::json final_json = {{"step", step_}, {"seconds", res.seconds}, {"interrupted", res.interrupted}};
  if (res.skipped_steps) final_json["skipped_steps"] = res.skipped_steps;
  if (res.rollbacks) final_json["rollbacks"] = res.rollbacks;
  if (res.failed) final_json["failure"] = res.failure;
  if (modes) {
    res.final_metrics = mode_metrics(sample_generator(sampling_model(), fixed_noise()), *modes);
    final_json["modes"] = res.final_metrics.modes_captured;
    final_json["modes_total"] = res.final_metrics.modes_total;
    final_json["hq"] = res.final_metrics.hq_fraction;
    final_json["rkl"] = res.final_metrics.reverse_kl;
    final_json["samples"] = res.final_metrics.samples;
  }
  write_text(fs::path(run_dir_) / "final.json", final_json.dump(2) + "\n");
  res.report_path = write_report(run_dir_);
  return res;
}

}  // namespace ganglion
