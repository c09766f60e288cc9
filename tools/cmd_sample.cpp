// tools/cmd_sample.cpp — `ganglion sample`: draws N 2-D samples from a checkpoint's generator (EMA weights when
// present) and writes a PNG scatter plot or CSV ("-" for stdout).
#include <fstream>
#include <iostream>

#include "gan/plot2d.h"
#include "gan/trainer.h"
#include "tools/commands.h"

namespace ganglion::tools {

namespace {
struct SampleArgs {
  std::string checkpoint, output, format = "png", device = "auto";
  int64_t n = 2500;
  uint64_t seed = 1;
  bool no_ema = false;
};

int run_sample(const SampleArgs& a) {
  if (a.format != "png" && a.format != "csv")
    throw Error("--format must be png or csv, got '" + a.format + "'");
  if (a.n <= 0) throw Error("-n must be positive, got " + std::to_string(a.n));
  Checkpoint ck = read_checkpoint(resolve_checkpoint(a.checkpoint));
  Device d = resolve_device(a.device);
  auto g = generator_from_checkpoint(ck, !a.no_ema, d);
  Generator noise(a.seed);
  Tensor x = sample_generator(*g, noise.randn({a.n, ck.config.mlp.noise_dim}, d));
  std::vector<float> xy = x.to_vector();
  std::string out = a.output.empty() ? "samples." + a.format : a.output;
  if (a.format == "png") {
    if (out == "-") throw Error("-o -: a PNG cannot go to stdout; give a file name");
    write_scatter_png(out, xy, mixture2d(ck.config.data));
  } else {
    std::ofstream file;
    if (out != "-") {
      file.open(out);
      if (!file) throw Error("cannot write '" + out + "'");
    }
    std::ostream& os = out == "-" ? std::cout : file;
    os << "x,y\n";
    for (size_t i = 0; i + 1 < xy.size(); i += 2) os << xy[i] << "," << xy[i + 1] << "\n";
    if (!os) throw Error("cannot write '" + out + "'");
  }
  if (out != "-") std::cout << "wrote " << a.n << " samples from " << ck.path << " (step " << ck.step << ") to " << out << "\n";
  return 0;
}
}  // namespace

Command add_sample(CLI::App& root) {
  auto a = std::make_shared<SampleArgs>();
  CLI::App* app = root.add_subcommand("sample", "Draw samples from a checkpoint (PNG scatter or CSV)");
  app->add_option("checkpoint", a->checkpoint, "A run folder (its newest checkpoint) or a checkpoint file")->required();
  app->add_option("-n,--num", a->n, "Number of samples");
  app->add_option("-o,--output", a->output, "Output file (default samples.png / samples.csv; '-' = stdout for csv)");
  app->add_option("--format", a->format, "png | csv");
  app->add_option("--seed", a->seed, "Noise seed");
  app->add_option("--device", a->device, "auto | cpu | cuda");
  app->add_flag("--no-ema", a->no_ema, "Use the raw generator even when an EMA copy exists");
  return {app, [a] { return run_sample(*a); }};
}

}  // namespace ganglion::tools
