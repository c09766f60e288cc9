// tools/cmd_train.cpp — `ganglion train`: resolves the config (preset, then --config file, then flags), makes the
// run folder, trains with progress lines, stops cleanly on SIGINT/SIGTERM (checkpoint, exit 130/143), resumes
// with --resume, follows --on-nan stop|skip|rollback on a NaN/Inf (exit 1 with the message when it stops), and
// prints where the run folder and report are and the final 2-D metrics.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>

#include <omp.h>

#include "gan/trainer.h"
#include "tools/commands.h"

namespace ganglion::tools {

namespace {

std::atomic<int> g_stop{0};

extern "C" void on_stop_signal(int sig) {
  g_stop.store(sig);
  std::signal(sig, SIG_DFL);  // a second signal ends the program at once
}

struct TrainArgs {
  std::string preset, config_file, device, out, run_dir, resume, data, data_path, d_norm, loss, penalty, lr_schedule;
  std::string on_nan;
  float nan_lr_cut = 0;
  int64_t nan_max_rollbacks = -1;
  int64_t image_size = 0, channels = 0, nz = 0, ngf = 0, ndf = 0, stacked_images = 0;
  uint64_t seed = 0;
  int64_t steps = 0, batch = 0, n_critic = 0, pack = 0, log_every = 0, sample_every = 0, checkpoint_every = 0;
  int64_t g_hidden = 0, d_hidden = 0, d_pieces = 0, g_layers = 0;
  bool no_batchnorm = false;
  float g_scale = 0, d_scale = 0, lr_g = 0, lr_d = 0, lr = 0, beta1 = 0, beta2 = 0, lr_final_frac = 0, lambda_gp = 0, gamma_r1 = 0, ema = 0, label_smoothing = 0;
  int threads = 0;
  bool print_config = false, quiet = false;
};

std::string fresh_run_dir(const std::string& out, const std::string& preset) {
  std::time_t t = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&t));
  namespace fs = std::filesystem;
  fs::path base = fs::path(out) / (preset + "-" + stamp);
  fs::path p = base;
  for (int i = 2; fs::exists(p); ++i) p = base.string() + "-" + std::to_string(i);
  return p.string();
}

int run_train(const TrainArgs& a, CLI::App& app) {
  auto given = [&](const char* flag) { return app.count(flag) > 0; };
  std::unique_ptr<Trainer> trainer;
  if (!a.resume.empty()) {
    for (const char* f : {"--preset", "--config", "--seed", "--out", "--run-dir", "--data", "--stacked-images", "--loss", "--penalty",
                          "--batch", "--n-critic", "--pack", "--lr", "--lr-g", "--lr-d", "--lambda", "--ema",
                          "--g-hidden", "--d-hidden", "--lr-schedule", "--lr-final", "--beta1", "--beta2", "--gamma", "--label-smoothing", "--g-layers",
                          "--no-batchnorm", "--d-pieces", "--g-scale", "--d-scale", "--log-every", "--sample-every",
                          "--checkpoint-every", "--print-config", "--image-size", "--channels",
                          "--nz", "--ngf", "--ndf", "--d-norm"})
      if (given(f))
        throw Error(std::string("--resume continues the checkpoint's own config; ") + f +
                    " cannot be changed (only --steps, --device, --data-path and the --on-nan flags can)");
    ResumeOverrides o;
    o.steps = a.steps;
    o.device = a.device;
    o.data_path = a.data_path;
    trainer = Trainer::resume(a.resume, o, &std::cout);
    TrainConfig nan = trainer->config();
    if (given("--on-nan")) nan.on_nan = a.on_nan;
    if (given("--nan-lr-cut")) nan.nan_lr_cut = a.nan_lr_cut;
    if (given("--nan-max-rollbacks")) nan.nan_max_rollbacks = a.nan_max_rollbacks;
    trainer->set_nan_policy(nan);
  } else {
    TrainConfig c = preset_config(a.preset.empty() ? default_preset_name() : a.preset);
    if (!a.config_file.empty()) c = load_config_file(a.config_file, given("--preset") ? &c : nullptr);
    if (given("--data")) c.data = a.data;
    if (given("--data-path")) c.data_path = a.data_path;
    if (given("--stacked-images")) c.stacked_images = a.stacked_images;
    if (given("--image-size")) c.image.image_size = a.image_size;
    if (given("--channels")) c.image.channels = a.channels;
    if (given("--nz")) c.image.nz = a.nz;
    if (given("--ngf")) c.image.ngf = a.ngf;
    if (given("--ndf")) c.image.ndf = a.ndf;
    if (given("--d-norm")) c.image.d_norm = parse_image_norm(a.d_norm);
    if (given("--loss")) c.loss = a.loss;
    if (given("--penalty")) c.penalty = a.penalty;
    if (given("--device")) c.device = a.device;
    if (given("--seed")) c.seed = a.seed;
    if (given("--steps")) c.steps = a.steps;
    if (given("--batch")) c.batch = a.batch;
    if (given("--n-critic")) c.n_critic = a.n_critic;
    if (given("--pack")) (is_image_data(c.data) ? c.image.pack : c.mlp.pack) = a.pack;
    if (given("--lr")) c.lr_g = c.lr_d = a.lr;
    if (given("--lr-g")) c.lr_g = a.lr_g;
    if (given("--lr-d")) c.lr_d = a.lr_d;
    if (given("--lr-schedule")) c.lr_schedule = a.lr_schedule;
    if (given("--lr-final")) c.lr_final_frac = a.lr_final_frac;
    if (given("--beta1")) c.beta1 = a.beta1;
    if (given("--beta2")) c.beta2 = a.beta2;
    if (given("--lambda")) c.lambda_gp = a.lambda_gp;
    if (given("--gamma")) c.gamma_r1 = a.gamma_r1;
    if (given("--label-smoothing")) c.label_smoothing = a.label_smoothing;
    if (given("--ema")) c.ema_decay = a.ema;
    if (given("--g-layers")) c.mlp.g_layers = a.g_layers;
    if (given("--d-pieces")) c.mlp.d_pieces = a.d_pieces;
    if (given("--g-scale")) c.mlp.g_output_scale = a.g_scale;
    if (given("--d-scale")) c.mlp.d_input_scale = a.d_scale;
    if (given("--no-batchnorm")) c.mlp.g_batchnorm = false;
    if (given("--g-hidden")) c.mlp.g_hidden = a.g_hidden;
    if (given("--d-hidden")) c.mlp.d_hidden = a.d_hidden;
    if (given("--log-every")) c.log_every = a.log_every;
    if (given("--sample-every")) c.sample_every = a.sample_every;
    if (given("--checkpoint-every")) c.checkpoint_every = a.checkpoint_every;
    if (given("--out")) c.out_dir = a.out;
    if (given("--on-nan")) c.on_nan = a.on_nan;
    if (given("--nan-lr-cut")) c.nan_lr_cut = a.nan_lr_cut;
    if (given("--nan-max-rollbacks")) c.nan_max_rollbacks = a.nan_max_rollbacks;
    validate(c);
    if (a.print_config) {
      std::cout << to_json(c).dump(2) << "\n";
      return 0;
    }
    std::string dir = a.run_dir.empty() ? fresh_run_dir(c.out_dir, c.preset) : a.run_dir;
    trainer = std::make_unique<Trainer>(c, dir);
  }
  const TrainConfig& c = trainer->config();
  // The 2-D toy models are too small to gain from more CPU threads, and on a busy machine OpenMP's spinning
  // threads make them several times slower: one thread unless --threads or OMP_NUM_THREADS says otherwise.
  if (a.threads > 0) omp_set_num_threads(a.threads);
  else if (!std::getenv("OMP_NUM_THREADS") && c.model == "mlp2d") omp_set_num_threads(1);
  std::cout << "ganglion train: preset " << c.preset << ", " << c.data << ", loss " << c.loss << ", penalty "
            << c.penalty << ", " << c.steps << " steps, batch " << c.batch << ", " << omp_get_max_threads()
            << " CPU thread(s)\n";
  std::cout << "data: " << trainer->data().describe() << "\n";
  if (!trainer->device_message().empty()) std::cout << trainer->device_message() << "\n";
  std::cout << "run folder: " << trainer->run_dir() << std::endl;

  g_stop.store(0);
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  TrainHooks hooks;
  hooks.log = a.quiet ? nullptr : &std::cout;
  hooks.stop = &g_stop;
  hooks.events = &std::cout;  // NaN/Inf skips and rollbacks are shown even with --quiet
  TrainResult r = trainer->run(hooks);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);

  std::cout << "run folder: " << r.run_dir << "\nreport: " << r.report_path << "\ncheckpoint: " << r.checkpoint
            << "\n";
  if (r.has_modes) {
    const ModeMetrics& m = r.final_metrics;
    char line[200];
    std::snprintf(line, sizeof line, "final (step %lld, %.1f s): modes %d/%d, high quality %.1f%%, reverse KL %.4f",
                  static_cast<long long>(r.step), r.seconds, m.modes_captured, m.modes_total, 100 * m.hq_fraction,
                  m.reverse_kl);
    std::cout << line << "\n";
  } else {
    std::cout << "final (step " << r.step << ", " << r.seconds << " s)\n";
  }
  if (r.skipped_steps || r.rollbacks)
    std::cout << "non-finite steps: " << r.skipped_steps << " skipped, " << r.rollbacks << " rollback(s)\n";
  if (r.failed) throw Error(r.failure);  // one line on stderr, exit 1
  if (r.interrupted) {
    std::cout << "interrupted; continue with: ganglion train --resume " << r.run_dir << "\n";
    return 128 + r.stop_signal;
  }
  return 0;
}

}  // namespace

Command add_train(CLI::App& root) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* app = root.add_subcommand("train", "Train a GAN (default: the " + default_preset_name() + " preset)");
  std::string presets;
  for (const auto& p : preset_names()) presets += (presets.empty() ? "" : ", ") + p;
  app->add_option("--preset", a->preset, "Start from a named preset: " + presets);
  app->add_option("--config", a->config_file, "A JSON config file (its keys override the preset)");
  app->add_option("--resume", a->resume, "Continue the run in this folder (or from this checkpoint file)");
  app->add_option("--device", a->device, "auto | cpu | cuda");
  app->add_option("--seed", a->seed, "Random seed");
  app->add_option("--steps", a->steps, "Generator steps in total");
  app->add_option("--out", a->out, "Parent folder of the run folders");
  app->add_option("--run-dir", a->run_dir, "Use exactly this run folder");
  app->add_option("--data", a->data, "ring8 | grid25 | swissroll | mnist | cifar10 | folder | stacked_mnist");
  app->add_option("--data-path", a->data_path, "Image data: the MNIST folder, CIFAR-10 folder/file or image folder");
  app->add_option("--stacked-images", a->stacked_images,
                  "stacked_mnist: 3-digit images to draw (default: as many as the MNIST digits; the papers: 128000)");
  app->add_option("--image-size", a->image_size, "Image side: 28 or a power of two from 16 to 128");
  app->add_option("--channels", a->channels, "Image channels: 1 (grey) or 3 (RGB)");
  app->add_option("--nz", a->nz, "Image generator noise size");
  app->add_option("--ngf", a->ngf, "Image generator width");
  app->add_option("--ndf", a->ndf, "Image critic width");
  app->add_option("--d-norm", a->d_norm, "Image critic norm: batchnorm | layernorm | none");
  app->add_option("--loss", a->loss, "minimax | nonsaturating | wasserstein | hinge | lsgan");
  app->add_option("--penalty", a->penalty, "none | gp | r1 | clip");
  app->add_option("--lambda", a->lambda_gp, "WGAN-GP weight");
  app->add_option("--gamma", a->gamma_r1, "R1 weight");
  app->add_option("--label-smoothing", a->label_smoothing, "One-sided label smoothing s (real target 1 - s)");
  app->add_option("--batch", a->batch, "Batch size");
  app->add_option("--n-critic", a->n_critic, "Critic steps per generator step");
  app->add_option("--pack", a->pack, "PacGAN packing m: the critic scores m samples at once (2-D: mlp.pack, images: image.pack)");
  app->add_option("--lr", a->lr, "Learning rate of both G and D");
  app->add_option("--lr-g", a->lr_g, "Generator learning rate");
  app->add_option("--lr-d", a->lr_d, "Critic learning rate");
  app->add_option("--lr-schedule", a->lr_schedule, "constant | linear");
  app->add_option("--lr-final", a->lr_final_frac, "Linear schedule: the last step's lr as a fraction of the first");
  app->add_option("--beta1", a->beta1, "Adam beta1");
  app->add_option("--beta2", a->beta2, "Adam beta2");
  app->add_option("--ema", a->ema, "EMA decay of the generator's weights (0 = off)");
  app->add_option("--g-hidden", a->g_hidden, "Generator hidden width");
  app->add_option("--g-layers", a->g_layers, "Generator hidden layers");
  app->add_flag("--no-batchnorm", a->no_batchnorm, "Generator without BatchNorm");
  app->add_option("--d-hidden", a->d_hidden, "Critic hidden width (maxout units per layer)");
  app->add_option("--d-pieces", a->d_pieces, "Maxout pieces per unit");
  app->add_option("--g-scale", a->g_scale, "Fixed factor on the generator's output");
  app->add_option("--d-scale", a->d_scale, "Fixed factor on the critic's input");
  app->add_option("--log-every", a->log_every, "Steps between progress lines / metrics");
  app->add_option("--sample-every", a->sample_every, "Steps between sample images");
  app->add_option("--checkpoint-every", a->checkpoint_every, "Steps between checkpoints");
  app->add_option("--on-nan", a->on_nan,
                  "On a NaN/Inf loss or gradient: stop (keep the last good state, exit 1) | skip (drop the step) | "
                  "rollback (back to the newest checkpoint)");
  app->add_option("--nan-lr-cut", a->nan_lr_cut, "Rollback: multiply the learning rates by this (0, 1] each time");
  app->add_option("--nan-max-rollbacks", a->nan_max_rollbacks, "Rollback: give up (exit 1) after this many");
  app->add_option("--threads", a->threads, "CPU threads (default: 1 for the 2-D models, else OpenMP's choice)");
  app->add_flag("--print-config", a->print_config, "Print the resolved config as JSON and exit");
  app->add_flag("--quiet,-q", a->quiet, "No progress lines");
  return {app, [a, app] { return run_train(*a, *app); }};
}

}  // namespace ganglion::tools
