// tools/cmd_sample.cpp — `ganglion sample`: draws samples from a checkpoint's generator (EMA weights when
// present). 2-D runs: a PNG scatter plot or CSV ("-" for stdout). Image runs: a PNG grid, --count N separate PNGs
// in a folder, or --interpolate rows of latent interpolation strips.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "gan/image_grid.h"
#include "gan/models.h"
#include "gan/plot2d.h"
#include "gan/trainer.h"
#include "tools/commands.h"

namespace ganglion::tools {

namespace {
struct SampleArgs {
  std::string checkpoint, output, format = "png", device = "auto";
  int64_t n = 2500, count = 0, frames = 10;
  uint64_t seed = 1;
  bool no_ema = false, interpolate = false, n_given = false;
};

// Rows of `frames` images from G on noise moving linearly from z_a to z_b (one random pair a row).
Tensor interpolation_noise(const TrainConfig& c, int64_t rows, int64_t frames, Generator& g) {
  std::vector<float> za = g.randn(noise_shape(c, rows)).to_vector(), zb = g.randn(noise_shape(c, rows)).to_vector();
  const int64_t dim = static_cast<int64_t>(za.size()) / rows;
  Tensor z = Tensor::empty(noise_shape(c, rows * frames));
  float* out = z.data();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t f = 0; f < frames; ++f) {
      const float t = frames > 1 ? static_cast<float>(f) / static_cast<float>(frames - 1) : 0.f;
      for (int64_t k = 0; k < dim; ++k)
        out[(r * frames + f) * dim + k] = (1 - t) * za[static_cast<size_t>(r * dim + k)] + t * zb[static_cast<size_t>(r * dim + k)];
    }
  return z;
}

int run_image_sample(const SampleArgs& a, const Checkpoint& ck, Module& g, Device d) {
  Generator noise(a.seed);
  const std::string from = " from " + ck.path + " (step " + std::to_string(ck.step) + ")";
  if (a.count > 0) {
    std::string dir = a.output.empty() ? "samples" : a.output;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw Error("-o '" + dir + "': cannot create the folder: " + ec.message());
    for (int64_t i = 0; i < a.count; ++i) {
      Tensor x = sample_generator(g, draw_noise(ck.config, 1, noise, d));
      char name[32];
      std::snprintf(name, sizeof name, "sample_%05lld.png", static_cast<long long>(i));
      write_image_grid_png((std::filesystem::path(dir) / name).string(), x, 1, 0);
    }
    std::cout << "wrote " << a.count << " PNGs" << from << " to " << dir << "/\n";
    return 0;
  }
  std::string out = a.output.empty() ? "samples.png" : a.output;
  if (out == "-") throw Error("-o -: a PNG cannot go to stdout; give a file name");
  if (a.interpolate) {
    if (a.frames < 2) throw Error("--frames must be at least 2, got " + std::to_string(a.frames));
    const int64_t rows = a.n_given ? a.n : 8;
    Tensor x = sample_generator(g, interpolation_noise(ck.config, rows, a.frames, noise).to(d));
    write_image_grid_png(out, x, a.frames);
    std::cout << "wrote " << rows << " interpolation rows of " << a.frames << " images" << from << " to " << out << "\n";
    return 0;
  }
  const int64_t n = a.n_given ? a.n : 64;
  Tensor x = sample_generator(g, draw_noise(ck.config, n, noise, d));
  write_image_grid_png(out, x, static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(n)))));
  std::cout << "wrote a grid of " << n << " images" << from << " to " << out << "\n";
  return 0;
}

int run_sample(const SampleArgs& a) {
  if (a.count < 0) throw Error("--count must be positive, got " + std::to_string(a.count));
  if (a.format != "png" && a.format != "csv")
    throw Error("--format must be png or csv, got '" + a.format + "'");
  if (a.n <= 0) throw Error("-n must be positive, got " + std::to_string(a.n));
  Checkpoint ck = read_checkpoint(resolve_checkpoint(a.checkpoint));
  Device d = resolve_device(a.device);
  auto g = generator_from_checkpoint(ck, !a.no_ema, d);
  if (is_image_data(ck.config.data)) return run_image_sample(a, ck, *g, d);
  if (a.count > 0 || a.interpolate) throw Error("--count and --interpolate are for image checkpoints");
  Generator noise(a.seed);
  Tensor x = sample_generator(*g, draw_noise(ck.config, a.n, noise, d));
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
  CLI::App* app = root.add_subcommand("sample", "Draw samples from a checkpoint (2-D: PNG scatter or CSV; images: PNG grid)");
  app->add_option("checkpoint", a->checkpoint, "A run folder (its newest checkpoint) or a checkpoint file")->required();
  app->add_option("-n,--num", a->n, "Number of samples (images: grid size, default 64; --interpolate: rows, default 8)");
  app->add_option("--count", a->count, "Images: write this many separate PNGs into the -o folder (default samples/)");
  app->add_flag("--interpolate", a->interpolate, "Images: rows of latent interpolation strips");
  app->add_option("--frames", a->frames, "Images with --interpolate: images per row (default 10)");
  app->add_option("-o,--output", a->output, "Output file (default samples.png / samples.csv; '-' = stdout for csv)");
  app->add_option("--format", a->format, "png | csv");
  app->add_option("--seed", a->seed, "Noise seed");
  app->add_option("--device", a->device, "auto | cpu | cuda");
  app->add_flag("--no-ema", a->no_ema, "Use the raw generator even when an EMA copy exists");
  return {app, [a, app] {
            a->n_given = app->count("--num") > 0;
            return run_sample(*a);
          }};
}

}  // namespace ganglion::tools
