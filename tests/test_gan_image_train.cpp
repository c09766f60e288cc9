// tests/test_gan_image_train.cpp — image GAN training through the same Trainer on a tiny MNIST-like IDX dataset
// written here: a short run writes its sample grids and image metrics; 3 steps + checkpoint + resume 3 gives the
// losses of 6 uninterrupted (the batcher's epoch and position travel in the checkpoint); the sample grid has the
// right size; an incompatible checkpoint names the differing image field; bad data inputs name the flag; the
// dcgan-stacked-mnist preset (R1) trains.
#include <catch2/catch.hpp>
#include <stb_image.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "gan/checkpoint.h"
#include "gan/image_grid.h"
#include "gan/models.h"
#include "gan/trainer.h"
#include "mnist_test_data.h"

using namespace ganglion;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("ganglion_imgtrain_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p;
}

// 64 images 28x28 in a fresh folder, shared by the tests of this file.
const std::string& tiny_mnist() {
  static const std::string dir = [] {
    fs::path d = temp_dir("data");
    fs::create_directories(d);
    gtest::write_mnist(d, 64, true);
    return d.string();
  }();
  return dir;
}

TrainConfig tiny_image_config(const std::string& preset = "dcgan-mnist") {
  TrainConfig c = preset_config(preset);
  c.data_path = tiny_mnist();
  c.image.nz = 8;
  c.image.ngf = 4;
  c.image.ndf = 4;
  c.batch = 24;  // 64 images: the batcher wraps into a new epoch within 6 steps
  c.steps = 6;
  c.seed = 5;
  c.device = "cpu";
  c.log_every = 2;
  c.sample_every = 3;
  c.checkpoint_every = 100;
  return c;
}

std::pair<int, int> png_size(const std::string& path) {
  int w = 0, h = 0, ch = 0;
  REQUIRE(stbi_info(path.c_str(), &w, &h, &ch) == 1);
  return {w, h};
}

}  // namespace

TEST_CASE("image GAN: a tiny MNIST run writes grids, metrics without modes and a report", "[gan][train][image]") {
  TrainConfig c = tiny_image_config();
  c.ema_decay = 0.9f;
  const std::string dir = temp_dir("run").string();
  Trainer t(c, dir);
  CHECK(t.data().mixture() == nullptr);
  CHECK(t.data().describe().find("64 images 1x28x28") != std::string::npos);
  TrainResult r = t.run();
  CHECK(r.step == 6);
  CHECK_FALSE(r.has_modes);
  for (const char* s : {"step_00000000.png", "step_00000003.png", "step_00000006.png"}) {
    const std::string p = (fs::path(dir) / "samples" / s).string();
    REQUIRE(fs::exists(p));
    CHECK(png_size(p) == image_grid_size(64, 28, 8));
  }
  std::ifstream m(fs::path(dir) / "metrics.jsonl");
  std::string line;
  int rows = 0;
  while (std::getline(m, line)) {
    auto j = nlohmann::json::parse(line);
    ++rows;
    for (const char* k : {"step", "loss_d", "loss_g", "d_real", "d_fake"}) CHECK(j.contains(k));
    CHECK_FALSE(j.contains("modes"));
    CHECK(std::isfinite(j["loss_d"].get<double>()));
  }
  CHECK(rows == 3);
  CHECK(fs::exists(fs::path(dir) / "report.html"));
  fs::remove_all(dir);
}

TEST_CASE("image GAN: 3 steps + checkpoint + resume 3 gives the losses of 6 uninterrupted", "[gan][train][image]") {
  for (const char* preset : {"dcgan-mnist", "wgangp-mnist", "dcgan-stacked-mnist"}) {
    INFO(preset);
    TrainConfig c = tiny_image_config(preset);
    c.n_critic = 2;  // several batches a step, so the resumed batcher position matters
    std::vector<StepLosses> full, parts;
    {
      Trainer t(c, temp_dir("full").string());
      for (int i = 0; i < 6; ++i) full.push_back(t.train_step());
    }
    const std::string dir = temp_dir("resume").string();
    {
      Trainer t(c, dir);
      for (int i = 0; i < 3; ++i) parts.push_back(t.train_step());
      Checkpoint ck = read_checkpoint(t.save_checkpoint());
      CHECK(ck.data_state["epoch"].get<uint64_t>() == 2);  // 3 steps x 2 critic batches x 24 = 144 of 64 images
      CHECK(ck.data_state["position"].get<uint64_t>() == 16);
    }
    auto r = Trainer::resume(dir);
    CHECK(r->step() == 3);
    for (int i = 0; i < 3; ++i) parts.push_back(r->train_step());
    for (size_t i = 0; i < full.size(); ++i) {
      INFO("step " << i);
      CHECK(parts[i].loss_d == full[i].loss_d);
      CHECK(parts[i].loss_g == full[i].loss_g);
      CHECK(parts[i].d_real == full[i].d_real);
      CHECK(parts[i].d_fake == full[i].d_fake);
    }
    fs::remove_all(dir);
    fs::remove_all(temp_dir("full"));
  }
}

TEST_CASE("image GAN: a checkpoint's generator samples a grid of the right size", "[gan][train][image]") {
  TrainConfig c = tiny_image_config();
  const std::string dir = temp_dir("sample").string();
  Trainer t(c, dir);
  t.train_step();
  Checkpoint ck = read_checkpoint(t.save_checkpoint());
  auto g = generator_from_checkpoint(ck, true, Device::cpu());
  Generator noise(3);
  Tensor x = sample_generator(*g, draw_noise(ck.config, 10, noise, Device::cpu()));
  CHECK(x.shape() == Shape{10, 1, 28, 28});
  const std::string png = (fs::path(dir) / "grid.png").string();
  write_image_grid_png(png, x, 4);
  CHECK(png_size(png) == std::pair<int, int>{4 * 30 + 2, 3 * 30 + 2});
  fs::remove_all(dir);
}

TEST_CASE("image GAN: incompatible checkpoints and bad data inputs give errors naming the field", "[gan][train][image]") {
  TrainConfig c = tiny_image_config();
  const std::string dir = temp_dir("compat").string();
  Trainer t(c, dir);
  Checkpoint ck = read_checkpoint(t.save_checkpoint());
  TrainConfig other = c;
  other.image.ngf = 8;
  CHECK_THROWS_WITH(restore_checkpoint(ck, CheckpointParts{}, &other), Catch::Contains("image.ngf: 4 vs 8"));
  fs::remove_all(dir);

  TrainConfig bad = c;
  bad.data_path = "";
  CHECK_THROWS_WITH(Trainer(bad, temp_dir("bad").string()), Catch::Contains("--data-path"));
  bad.data_path = (temp_dir("missing") / "nowhere").string();
  CHECK_THROWS_WITH(Trainer(bad, temp_dir("bad").string()), Catch::Contains("--data-path") && Catch::Contains("nowhere"));
  bad = c;
  bad.image.channels = 3;
  CHECK_THROWS_WITH(validate(bad), Catch::Contains("channels") && Catch::Contains("mnist"));
  bad = c;
  bad.model = "mlp2d";
  CHECK_THROWS_WITH(validate(bad), Catch::Contains("model 'mlp2d' does not fit data 'mnist'"));
  fs::remove_all(temp_dir("bad"));
}

TEST_CASE("image GAN: a packed critic (PacDCGAN) trains on stacked MNIST, with and without the gradient penalty",
          "[gan][train][image]") {
  for (const char* preset : {"dcgan-mnist", "wgangp-mnist"}) {
    INFO(preset);
    TrainConfig c = tiny_image_config(preset);
    c.data = "stacked_mnist";
    c.image.channels = 3;
    c.image.pack = 2;
    c.steps = 4;
    validate(c);
    // The config round-trips through JSON with its packing.
    CHECK(config_from_json(to_json(c), preset_config(preset), "test").image.pack == 2);
    const std::string dir = temp_dir("packed").string();
    Trainer t(c, dir);
    for (int i = 0; i < 4; ++i) {
      StepLosses l = t.train_step();
      REQUIRE(l.nonfinite.empty());
      CHECK(std::isfinite(l.loss_d));
      CHECK(std::isfinite(l.loss_g));
    }
    Checkpoint ck = read_checkpoint(t.save_checkpoint());
    // The packed critic's first conv (after the Reshape) sees 2 x 3 channels.
    CHECK(ck.part("D.").at("1.weight").shape() == Shape{4, 6, 4, 4});
    TrainConfig unpacked = c;
    unpacked.image.pack = 1;
    CHECK_THROWS_WITH(restore_checkpoint(ck, CheckpointParts{}, &unpacked), Catch::Contains("image.pack: 2 vs 1"));
    fs::remove_all(dir);
  }
  TrainConfig bad = tiny_image_config();
  bad.image.pack = 5;  // batch 24
  CHECK_THROWS_WITH(validate(bad), Catch::Contains("batch 24 is not a multiple of image.pack 5"));
  bad = tiny_image_config();
  bad.mlp.pack = 2;
  CHECK_THROWS_WITH(validate(bad), Catch::Contains("mlp.pack must be 1 for image models") && Catch::Contains("image.pack"));
  TrainConfig toy = preset_config("toy-grid25");
  toy.image.pack = 2;
  CHECK_THROWS_WITH(validate(toy), Catch::Contains("image.pack must be 1 for 2-D models"));
}

TEST_CASE("preset dcgan-stacked-mnist: the 64-wide DCGAN with R1 (gamma 1) on stacked MNIST, and it trains",
          "[gan][train][image]") {
  const TrainConfig p = preset_config("dcgan-stacked-mnist");
  CHECK(p.data == "stacked_mnist");
  CHECK(p.image.channels == 3);
  CHECK(p.image.ngf == 64);
  CHECK(p.image.ndf == 64);
  CHECK(p.penalty == "r1");
  CHECK(p.gamma_r1 == 1.f);
  CHECK(p.loss == "nonsaturating");
  CHECK(p.image.d_norm == ImageNorm::BatchNorm);
  TrainConfig c = tiny_image_config("dcgan-stacked-mnist");
  validate(c);
  Trainer t(c, temp_dir("stacked_r1").string());
  CHECK(t.data().describe().find("64 images 3x28x28") != std::string::npos);
  const StepLosses l = t.train_step();
  REQUIRE(l.nonfinite.empty());
  CHECK(l.penalty > 0);  // the R1 term is in the critic's loss
  CHECK(std::isfinite(l.loss_d));
  fs::remove_all(temp_dir("stacked_r1"));
}

TEST_CASE("image GAN: stacked_images sets how many 3-digit images are drawn; bad values name the key",
          "[gan][train][image]") {
  TrainConfig c = tiny_image_config();
  c.data = "stacked_mnist";
  c.image.channels = 3;
  c.stacked_images = 100;  // more than the 64 digits: every image is still 3 random digits
  Trainer t(c, temp_dir("stacked").string());
  CHECK(t.data().describe().find("100 images 3x28x28") != std::string::npos);
  CHECK(config_from_json(to_json(c), preset_config("dcgan-mnist"), "test").stacked_images == 100);
  c.stacked_images = 0;  // the default: as many as the digits
  CHECK(Trainer(c, temp_dir("stacked0").string()).data().describe().find("64 images 3x28x28") != std::string::npos);
  c.stacked_images = -1;
  CHECK_THROWS_WITH(validate(c), Catch::Contains("stacked_images (--stacked-images) must be in [0, 10000000]"));
  c.stacked_images = kMaxStackedImages + 1;
  CHECK_THROWS_WITH(validate(c), Catch::Contains("stacked_images"));
  TrainConfig m = tiny_image_config();
  m.stacked_images = 10;
  CHECK_THROWS_WITH(validate(m), Catch::Contains("stacked_images (--stacked-images) is for data stacked_mnist, not 'mnist'"));
  fs::remove_all(temp_dir("stacked"));
  fs::remove_all(temp_dir("stacked0"));
}
