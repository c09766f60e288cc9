// gan/trainer.h — the GAN training loop: n_critic critic steps then one generator step (Adam both), an optional
// EMA of the generator, progress lines, metrics.jsonl, sample PNGs from fixed noise (scatter plots for 2-D data,
// image grids for images), checkpoints (every K steps, at the end and when asked to stop) and the HTML report.
// The data source and the models come from the config (gan/data_source.h, gan/models.h). All randomness comes
// from Generators whose state the checkpoint keeps, so a resumed run continues exactly as an uninterrupted one.
// Before every optimiser update the losses and gradients are checked for NaN/Inf (gan/nonfinite_guard.h); a bad
// update is never applied, and run() follows config.on_nan: stop, skip or rollback (gan/RELIABILITY.md).
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "core/rng.h"
#include "gan/checkpoint.h"
#include "gan/config.h"
#include "gan/data_source.h"
#include "gan/losses.h"
#include "gan/metrics2d.h"
#include "gan/nonfinite_guard.h"
#include "gan/penalty.h"
#include "layers/optim.h"
#include "layers/sequential.h"

namespace ganglion {

struct StepLosses {
  double loss_d = 0, loss_g = 0;  // the last critic step's loss (penalty included) and the generator's loss
  double d_real = 0, d_fake = 0;  // mean D(x) and D(G(z)): probabilities for BCE losses, raw scores otherwise
  double grad_norm_d = 0, grad_norm_g = 0;  // L2 norm over all gradients: the last critic update's, G's
  double penalty = 0;  // the last critic step's penalty term (gp / r1, weight included; part of loss_d), else 0
  // Not empty when a NaN/Inf was found: what and where. The step was undone (models, buffers and optimiser state
  // as at its start; the noise and data positions stay past it) and step() did not advance; run() then follows
  // config.on_nan.
  std::string nonfinite;
};

// Called after each backward pass and before its finite check (tests plant NaN through it): the 1-based step,
// "critic" or "generator", the losses about to be checked (replaceable) and the module whose gradients are.
using UpdateHook = std::function<void(int64_t step, const std::string& model, std::vector<NamedLoss>& losses,
                                      Module& module)>;

struct TrainHooks {
  std::ostream* log = nullptr;             // progress lines (none when null)
  const std::atomic<int>* stop = nullptr;  // non-zero: finish the step, checkpoint and return (the signal number)
  std::ostream* events = nullptr;          // NaN/Inf skips and rollbacks (to `log` when null)
};

struct TrainResult {
  int64_t step = 0;
  bool interrupted = false;
  int stop_signal = 0;
  int64_t skipped_steps = 0, rollbacks = 0;  // NaN/Inf handling in this run() call
  bool failed = false;  // stopped on a NaN/Inf (on_nan stop, or rollbacks used up); `failure` says why
  std::string failure;
  double seconds = 0;
  bool has_modes = false;
  ModeMetrics final_metrics;
  std::string run_dir, report_path, checkpoint;
};

// What a resume may change; zeros/empties keep the checkpoint's values.
struct ResumeOverrides {
  int64_t steps = 0;
  std::string device;
  std::string data_path;  // the image data moved
};

// Derives an independent Philox seed for stream `stream` of a run seeded with `seed` (splitmix64).
uint64_t derive_seed(uint64_t seed, uint64_t stream);
// Runs g on z in eval mode with no graph, restoring g's mode afterwards.
Tensor sample_generator(Module& g, const Tensor& z);
// The generator of a checkpoint (its EMA weights when `ema` and present) on device d, in eval mode.
std::shared_ptr<Sequential> generator_from_checkpoint(const Checkpoint& ck, bool ema, Device d);

class Trainer {
 public:
  // A fresh run writing to run_dir (created, config.json written). Models initialised from config.seed.
  Trainer(const TrainConfig& config, const std::string& run_dir);
  // Continues from the newest checkpoint of run_dir (or the checkpoint file given).
  static std::unique_ptr<Trainer> resume(const std::string& run_dir_or_file, const ResumeOverrides& o = {},
                                         std::ostream* log = nullptr);

  StepLosses train_step();  // one generator iteration; advances step() unless it found a NaN/Inf (then undone)
  // Writes checkpoints/step_N.safetensors and prunes old ones; returns the path. When writing fails (disk full,
  // read-only folder) the older checkpoints are untouched and the Error says so.
  std::string save_checkpoint();
  // Mode metrics of the sampling model (EMA G when on) on n samples of noise from Generator(noise_seed); 2-D only.
  ModeMetrics evaluate(uint64_t noise_seed, int64_t n);
  // Loops to config().steps with logging, samples, checkpoints and the report.
  TrainResult run(const TrainHooks& hooks = {});
  void set_update_hook(UpdateHook hook) { update_hook_ = std::move(hook); }
  // Takes on_nan, nan_lr_cut and nan_max_rollbacks from c (validated; config.json rewritten): a resumed run may
  // change how it meets a NaN/Inf, as they do not shape the models.
  void set_nan_policy(const TrainConfig& c);
  double lr_scale() const { return lr_scale_; }  // the learning-rate factor left by rollbacks (1 = none)

  int64_t step() const { return step_; }
  const TrainConfig& config() const { return cfg_; }
  const std::string& run_dir() const { return run_dir_; }
  Device device() const { return device_; }
  const std::string& device_message() const { return device_message_; }
  Module& generator() { return *g_; }
  Module& critic() { return *d_; }
  Module& sampling_model() { return ema_ ? *ema_ : *g_; }
  DataSource& data() { return *data_; }

 private:
  void set_learning_rates();
  void update_ema();
  Tensor fixed_noise() const;
  void write_samples_png(int64_t step);
  CheckpointParts parts();
  // What a step changes before its last finite check, copied at its start so that a failed step can be undone:
  // the critic (weights and buffers), its optimiser, the generator's buffers (batchnorm statistics), and the
  // noise and data positions.
  struct StepStart {
    TensorMap d_state, opt_d_state, g_buffers;
    uint64_t rng_seed = 0, rng_offset = 0;
    nlohmann::json data_state;
  };
  void remember_step_start();
  void undo_step();                       // models, buffers and optimiser state back to step_start_
  void rewind_noise_and_data_to_step_start();
  // The finite check of one update; false (and out.nonfinite set) when it failed.
  bool check_update(const char* model, int64_t update, std::vector<NamedLoss> losses, Module& m,
                    const NamedTensors& params, double* grad_norm, StepLosses& out);
  // on_nan rollback: restores the newest readable checkpoint and cuts the learning rates; returns its path.
  std::string roll_back(std::ostream* log);

  TrainConfig cfg_;
  std::string run_dir_;
  Device device_;
  std::string device_message_;
  std::unique_ptr<DataSource> data_;
  GanLoss loss_;
  Penalty penalty_;
  std::shared_ptr<Sequential> g_, d_, ema_;
  std::unique_ptr<Adam> opt_g_, opt_d_;
  NamedTensors g_params_, d_params_;  // "G.<name>" / "D.<name>": the handles the finite check reads
  Generator rng_;
  int64_t step_ = 0;
  double lr_scale_ = 1;
  UpdateHook update_hook_;
  StepStart step_start_;
};

}  // namespace ganglion
