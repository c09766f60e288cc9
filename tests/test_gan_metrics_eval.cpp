// tests/test_gan_metrics_eval.cpp — evaluate_checkpoint (gan/eval_checkpoint.h) end to end on checkpoints with
// known answers: a generator collapsed onto one grid25 mode (1 mode, 100 % HQ, reverse KL log 25) or between
// modes (nothing HQ), an MNIST generator collapsed onto one image (coverage 1/10, class KL log 10 against uniform
// test classes), a stacked-MNIST one (1 mode of 1,000, KL log 1000); mean ± standard error; the classifier trained
// and cached on first use; and the errors for runs it cannot evaluate.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <unistd.h>

#include "eval_test_data.h"
#include "gan/eval_checkpoint.h"
#include "gan/trainer.h"

using namespace ganglion;
namespace fs = std::filesystem;

namespace {
fs::path scratch() {
  static fs::path p = [] {
    fs::path d = fs::temp_directory_path() / ("ganglion_eval_" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
  }();
  return p;
}

// A one-step run of `c` in scratch()/name with its generator collapsed, saved and read back.
Checkpoint collapsed_checkpoint(TrainConfig c, const std::string& name, const std::vector<float>& output_bias) {
  c.steps = 1;
  c.device = "cpu";
  c.out_dir = scratch().string();
  Trainer t(c, (scratch() / name).string());
  gtest::collapse_generator(t.generator(), output_bias);
  return read_checkpoint(t.save_checkpoint());
}

TrainConfig tiny_2d() {
  TrainConfig c = preset_config("toy-grid25");
  c.mlp.g_hidden = 8, c.mlp.g_layers = 1, c.mlp.d_hidden = 4, c.mlp.d_pieces = 2;
  c.batch = 16;
  return c;
}

TrainConfig tiny_image(const std::string& data, int64_t channels) {
  TrainConfig c = preset_config("dcgan-mnist");
  c.data = data;
  c.data_path = (scratch() / "mnist").string();
  c.image.channels = channels;
  c.image.nz = 8, c.image.ngf = 4, c.image.ndf = 4;
  c.batch = 16;
  return c;
}
}  // namespace

TEST_CASE("mean_se: mean and standard error of the mean", "[metrics][eval]") {
  const MeanSe a = mean_se({1, 2, 3, 4});
  CHECK(a.n == 4);
  CHECK(a.mean == Approx(2.5));
  CHECK(a.se == Approx(std::sqrt(5.0 / 3.0) / 2.0));  // sample sd sqrt(5/3), over sqrt(4)
  const MeanSe one = mean_se({7});
  CHECK(one.mean == 7.0);
  CHECK(one.se == 0.0);
  CHECK(mean_se({}).n == 0);
}

TEST_CASE("evaluate_checkpoint: 2-D generators collapsed on a mode and between modes", "[metrics][eval]") {
  const Checkpoint on_mode = collapsed_checkpoint(tiny_2d(), "on_mode", {2.05f, -2.f});  // 1 std from (2, -2)
  EvalOptions o;
  o.seeds = 3;
  o.samples = 200;
  EvalReport r = evaluate_checkpoint(on_mode, o);
  CHECK(r.kind == EvalKind::Mixture2d);
  CHECK(r.modes_total == 25);
  CHECK(r.seeds == 3);
  CHECK(r.metric("modes").per_seed == std::vector<double>{1, 1, 1});
  CHECK(r.metric("modes").summary.se == 0.0);
  CHECK(r.metric("hq").summary.mean == Approx(1.0));
  CHECK(r.metric("rkl").summary.mean == Approx(std::log(25.0)));

  const Checkpoint between = collapsed_checkpoint(tiny_2d(), "between", {1.f, 1.f});  // 28 std from 4 modes
  r = evaluate_checkpoint(between, {});
  CHECK(r.samples == 2500);  // the PacGAN protocol's defaults
  CHECK(r.seeds == 5);
  CHECK(r.metric("modes").summary.mean == 0.0);
  CHECK(r.metric("hq").summary.mean == 0.0);
  CHECK(r.metric("rkl").summary.mean == Approx(std::log(25.0)));
  CHECK_THROWS_WITH(r.metric("fid"), Catch::Contains("no metric 'fid'"));
}

TEST_CASE("evaluate_checkpoint: collapsed MNIST and stacked-MNIST generators; classifier cached on first use",
          "[metrics][eval][image]") {
  gtest::write_mnist_splits(scratch() / "mnist", 40, 20);
  EvalOptions o;
  o.classifier_path = (scratch() / "cache" / "clf.safetensors").string();
  o.classifier_train.epochs = 1;
  std::vector<std::string> log;
  o.log = [&](const std::string& line) { log.push_back(line); };
  o.samples = 30;
  o.seeds = 2;
  const Checkpoint mnist = collapsed_checkpoint(tiny_image("mnist", 1), "mnist", {});
  EvalReport r = evaluate_checkpoint(mnist, o);
  REQUIRE(fs::exists(o.classifier_path));  // trained on first use and cached
  CHECK(r.kind == EvalKind::Mnist);
  CHECK(r.real_count == 20);
  CHECK(r.classifier_path == o.classifier_path);
  CHECK(r.classifier_accuracy >= 0.0);
  // One constant image: every sample gets the same predicted class.
  CHECK(r.metric("coverage").summary.mean == Approx(0.1));
  CHECK(r.metric("coverage_any").summary.mean == Approx(0.1));
  CHECK(r.metric("class_kl").summary.mean == Approx(std::log(10.0)));  // test classes are uniform
  CHECK(r.metric("class_kl").summary.se == Approx(0.0).margin(1e-12));
  CHECK(std::isfinite(r.metric("fid").summary.mean));
  CHECK(r.metric("fid").summary.mean > 0.0);
  for (const char* k : {"precision", "recall"}) {
    CHECK(r.metric(k).summary.mean >= 0.0);
    CHECK(r.metric(k).summary.mean <= 1.0);
  }

  log.clear();
  o.samples = 50;
  o.seeds = 1;
  const Checkpoint stacked = collapsed_checkpoint(tiny_image("stacked_mnist", 3), "stacked", {});
  r = evaluate_checkpoint(stacked, o);
  REQUIRE(!log.empty());
  CHECK(log.front().find("loading") != std::string::npos);  // the cached classifier, not a new one
  CHECK(r.kind == EvalKind::StackedMnist);
  CHECK(r.modes_total == 1000);
  CHECK(r.metric("modes").summary.mean == 1.0);
  CHECK(r.metric("kl").summary.mean == Approx(std::log(1000.0)));
  CHECK(r.metric("kl_digits").summary.mean == Approx(std::log(1000.0)));  // one triple: each channel one digit
  fs::remove_all(scratch());
}

TEST_CASE("evaluate_checkpoint: clear errors for runs it cannot evaluate", "[metrics][eval]") {
  CHECK_THROWS_WITH(eval_kind("cifar10"), Catch::Contains("no quality metrics for 'cifar10'"));
  CHECK_THROWS_WITH(eval_kind("swissroll"), Catch::Contains("'swissroll' has no modes"));
  CHECK(eval_kind("ring8") == EvalKind::Mixture2d);
  CHECK(std::string(eval_kind_name(eval_kind("stacked_mnist"))) == "stacked_mnist");

  fs::create_directories(scratch() / "train_only");
  gtest::write_mnist(scratch() / "train_only", 20, true);
  TrainConfig c = tiny_image("mnist", 1);
  c.data_path = (scratch() / "train_only").string();
  const Checkpoint ck = collapsed_checkpoint(c, "no_t10k", {});
  EvalOptions o;
  o.data_path = (scratch() / "train_only").string();
  o.classifier_path = (scratch() / "none.safetensors").string();
  CHECK_THROWS_WITH(evaluate_checkpoint(ck, o), Catch::Contains("t10k-images-idx3-ubyte.gz"));
  o.samples = 3;
  CHECK_THROWS_WITH(evaluate_checkpoint(ck, o), Catch::Contains("at least 4 samples"));
  fs::remove_all(scratch());
}
