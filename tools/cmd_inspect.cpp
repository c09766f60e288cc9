// tools/cmd_inspect.cpp — `ganglion inspect`: per-parameter weight and gradient norms, the largest singular value
// of each weight, and D(x) versus D(G(z)), as a terminal table and optionally an HTML page.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "gan/inspect.h"
#include "tools/commands.h"

namespace ganglion::tools {

namespace {
struct InspectArgs {
  std::string checkpoint, html, device = "auto";
  int64_t batch = 512;
  uint64_t seed = 0;
};

int run_inspect(const InspectArgs& a) {
  Checkpoint ck = read_checkpoint(resolve_checkpoint(a.checkpoint));
  InspectResult r = inspect_checkpoint(ck, a.batch, a.seed, resolve_device(a.device));
  std::printf("%s (step %lld), batch %lld\n", ck.path.c_str(), static_cast<long long>(ck.step),
              static_cast<long long>(r.batch));
  std::printf("%-9s %10s %10s %10s %10s\n", "", "mean", "std", "min", "max");
  for (auto [label, s] : {std::pair{"D(x)", r.d_real}, std::pair{"D(G(z))", r.d_fake}})
    std::printf("%-9s %10.4f %10.4f %10.4f %10.4f\n", label, s.mean, s.std, s.min, s.max);
  std::printf("loss_d %.5f  loss_g %.5f\n\n", r.loss_d, r.loss_g);
  std::printf("%-3s %-14s %-12s %11s %11s %11s\n", "", "parameter", "shape", "|w|", "|grad|", "sigma_max");
  for (const auto& l : r.layers) {
    char sigma[32] = "";
    if (l.sigma_max >= 0) std::snprintf(sigma, sizeof sigma, "%11.4f", l.sigma_max);
    std::printf("%-3s %-14s %-12s %11.4f %11.4g %11s\n", l.model.c_str(), l.name.c_str(),
                shape_str(l.shape).c_str(), l.weight_norm, l.grad_norm, sigma);
  }
  if (!a.html.empty()) {
    std::ofstream f(a.html);
    f << inspect_html(r, ck);
    if (!f) throw Error("cannot write '" + a.html + "'");
    std::printf("\nwrote %s\n", a.html.c_str());
  }
  return 0;
}
}  // namespace

Command add_inspect(CLI::App& root) {
  auto a = std::make_shared<InspectArgs>();
  CLI::App* app = root.add_subcommand("inspect", "Per-layer norms, spectral norms and critic outputs of a checkpoint");
  app->add_option("checkpoint", a->checkpoint, "A run folder (its newest checkpoint) or a checkpoint file")->required();
  app->add_option("--html", a->html, "Also write the tables as an HTML page");
  app->add_option("--batch", a->batch, "Samples for the gradients and critic outputs");
  app->add_option("--seed", a->seed, "Seed of the batch");
  app->add_option("--device", a->device, "auto | cpu | cuda");
  return {app, [a] { return run_inspect(*a); }};
}

}  // namespace ganglion::tools
