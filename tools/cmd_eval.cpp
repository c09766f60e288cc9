// tools/cmd_eval.cpp — `ganglion eval`: the 2-D mode metrics (modes captured, % high quality, reverse KL) of a
// checkpoint's generator, per noise seed and their mean.
#include <cmath>
#include <cstdio>
#include <iostream>

#include "gan/trainer.h"
#include "tools/commands.h"

namespace ganglion::tools {

namespace {
struct EvalArgs {
  std::string checkpoint, device = "auto";
  int64_t n = 2500, seeds = 5;
  bool no_ema = false, json = false;
};

int run_eval(const EvalArgs& a) {
  if (a.n <= 0 || a.seeds <= 0) throw Error("-n and --seeds must be positive");
  Checkpoint ck = read_checkpoint(resolve_checkpoint(a.checkpoint));
  if (is_image_data(ck.config.data))
    throw Error("eval: '" + ck.path + "' is an image run (" + ck.config.data + "); eval counts the modes of 2-D runs");
  Mixture2d m = mixture2d(ck.config.data);
  if (!m.has_modes()) throw Error("eval: dataset '" + m.name + "' has no modes to count");
  Device d = resolve_device(a.device);
  auto g = generator_from_checkpoint(ck, !a.no_ema, d);
  double modes = 0, hq = 0, kl = 0;
  nlohmann::json rows = nlohmann::json::array();
  if (!a.json) std::printf("%s (step %lld), %lld samples per seed\n%6s %7s %8s %9s\n", ck.path.c_str(),
                           static_cast<long long>(ck.step), static_cast<long long>(a.n), "seed", "modes", "hq %", "rev KL");
  for (int64_t s = 0; s < a.seeds; ++s) {
    Generator noise(derive_seed(static_cast<uint64_t>(s), 100));
    ModeMetrics r = mode_metrics(sample_generator(*g, noise.randn({a.n, ck.config.mlp.noise_dim}, d)), m);
    modes += r.modes_captured, hq += r.hq_fraction, kl += r.reverse_kl;
    rows.push_back({{"seed", s}, {"modes", r.modes_captured}, {"hq", r.hq_fraction}, {"rkl", r.reverse_kl}});
    if (!a.json)
      std::printf("%6lld %4d/%-2d %8.2f %9.4f\n", static_cast<long long>(s), r.modes_captured, r.modes_total,
                  100 * r.hq_fraction, r.reverse_kl);
  }
  const double k = static_cast<double>(a.seeds);
  if (a.json) {
    nlohmann::json out = {{"checkpoint", ck.path}, {"step", ck.step},         {"seeds", rows},
                          {"modes", modes / k},     {"hq", hq / k},           {"rkl", kl / k},
                          {"modes_total", m.means.size()}};
    std::cout << out.dump(2) << "\n";
  } else {
    std::printf("  mean %6.2f/%-2zu %7.2f %9.4f\n", modes / k, m.means.size(), 100 * hq / k, kl / k);
  }
  return 0;
}
}  // namespace

Command add_eval(CLI::App& root) {
  auto a = std::make_shared<EvalArgs>();
  CLI::App* app = root.add_subcommand("eval", "2-D mode metrics of a checkpoint, averaged over noise seeds");
  app->add_option("checkpoint", a->checkpoint, "A run folder (its newest checkpoint) or a checkpoint file")->required();
  app->add_option("-n,--num", a->n, "Samples per seed (PacGAN: 2500)");
  app->add_option("--seeds", a->seeds, "Number of noise seeds");
  app->add_option("--device", a->device, "auto | cpu | cuda");
  app->add_flag("--no-ema", a->no_ema, "Use the raw generator even when an EMA copy exists");
  app->add_flag("--json", a->json, "Print JSON");
  return {app, [a] { return run_eval(*a); }};
}

}  // namespace ganglion::tools
