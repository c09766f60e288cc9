// tests/test_tool_eval.cpp — `ganglion eval` and `ganglion train-classifier` end to end on tiny data written by
// the test: the classifier trained and saved (and not overwritten without --force), eval of an MNIST run (JSON
// with per-seed rows, means and standard errors, the classifier used), the 2-D table with its mean ± se rows, and
// one-line errors for a folder without held-out digits and an existing classifier file.
#include <cstdio>

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "eval_test_data.h"
#include "tool_run.h"

namespace fs = std::filesystem;

namespace {
fs::path dir() { return gtool::scratch("ganglion_tool_eval"); }
gtool::Run run(const std::string& args) { return gtool::run(args, dir()); }
}  // namespace

TEST_CASE("ganglion train-classifier and eval on a tiny MNIST run", "[tool][eval][image]") {
  REQUIRE(fs::exists(gtool::tool_path()));
  const fs::path mnist = dir() / "mnist", clf = dir() / "clf.safetensors";
  fs::create_directories(mnist);
  gtest::write_mnist_splits(mnist, 40, 20);

  gtool::Run r = run("train-classifier --data-path " + mnist.string() + " --epochs 1 -o " + clf.string());
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("40 training and 20 held-out digits") != std::string::npos);
  CHECK(r.out.find("held-out accuracy") != std::string::npos);
  CHECK(fs::exists(clf));
  r = run("train-classifier --data-path " + mnist.string() + " -o " + clf.string());
  CHECK(r.code == 1);
  CHECK(r.err.find("already exists") != std::string::npos);
  CHECK(gtool::lines(r.err) == 1);

  const fs::path runs = dir() / "imgrun";
  r = run("train --preset dcgan-mnist --device cpu --nz 8 --ngf 4 --ndf 4 --batch 16 --steps 2 -q --data-path " +
          mnist.string() + " --run-dir " + runs.string());
  REQUIRE(r.code == 0);
  r = run("eval " + runs.string() + " -n 24 --seeds 2 --json --classifier " + clf.string());
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const nlohmann::json j = nlohmann::json::parse(r.out);
  CHECK(j["kind"] == "mnist");
  CHECK(j["samples"] == 24);
  CHECK(j["seeds"].size() == 2);
  CHECK(j["real_samples"] == 20);
  CHECK(j["classifier"] == clf.string());
  for (const char* k : {"fid", "kid", "precision", "recall", "coverage", "coverage_any", "class_kl"}) {
    INFO(k);
    CHECK(j["mean"].contains(k));
    CHECK(j["se"][k].get<double>() >= 0.0);
    const double mean = (j["seeds"][0][k].get<double>() + j["seeds"][1][k].get<double>()) / 2;
    CHECK(j["mean"][k].get<double>() == Approx(mean));
  }

  r = run("eval " + runs.string() + " -n 24 --classifier " + clf.string());
  CHECK(r.code == 0);
  CHECK(r.out.find("FID_lenet") != std::string::npos);
  CHECK(r.out.find("± se") != std::string::npos);

  const fs::path train_only = dir() / "train_only";
  fs::create_directories(train_only);
  gtest::write_mnist(train_only, 20, false);
  r = run("eval " + runs.string() + " --data-path " + train_only.string() + " --classifier " + clf.string());
  CHECK(r.code == 1);
  CHECK(r.err.find("t10k-images-idx3-ubyte") != std::string::npos);
  CHECK(gtool::lines(r.err) == 1);
  r = run("train-classifier --data-path " + train_only.string() + " -o " + (dir() / "x.safetensors").string());
  CHECK(r.code == 1);
  CHECK(r.err.find("t10k-images-idx3-ubyte") != std::string::npos);
  CHECK(gtool::lines(r.err) == 1);
  fs::remove_all(dir());
}

TEST_CASE("ganglion eval of a 2-D run: per-seed rows, mean and standard error", "[tool][eval]") {
  REQUIRE(fs::exists(gtool::tool_path()));
  const fs::path runs = dir() / "run2d";
  gtool::Run r = run("train --data grid25 --steps 2 --batch 32 --g-hidden 16 --g-layers 2 --d-hidden 8 "
                     "--d-pieces 2 --device cpu -q --run-dir " + runs.string());
  REQUIRE(r.code == 0);
  r = run("eval " + runs.string() + " --seeds 3 -n 100");
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("100 samples per seed, 3 seed(s)") != std::string::npos);
  CHECK(r.out.find("modes in the data: 25") != std::string::npos);
  CHECK(r.out.find("mean") != std::string::npos);
  CHECK(r.out.find("± se") != std::string::npos);
  r = run("eval " + runs.string() + " --seeds -1");
  CHECK(r.code == 1);
  CHECK(r.err.find("--seeds") != std::string::npos);
  fs::remove_all(dir());
}

TEST_CASE("ganglion eval --every-checkpoint: one row per checkpoint, the same numbers as evaluating each alone",
          "[tool][eval]") {
  REQUIRE(fs::exists(gtool::tool_path()));
  const fs::path runs = dir() / "curve2d";
  gtool::Run r = run("train --data ring8 --steps 3 --batch 32 --g-hidden 16 --g-layers 2 --d-hidden 8 "
                     "--d-pieces 2 --checkpoint-every 1 --device cpu -q --run-dir " + runs.string());
  REQUIRE(r.code == 0);
  r = run("eval " + runs.string() + " --every-checkpoint --seeds 2 -n 200 --json");
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const nlohmann::json j = nlohmann::json::parse(r.out);
  CHECK(j["run"] == runs.string());
  REQUIRE(j["checkpoints"].size() == 3);
  for (int64_t step = 1; step <= 3; ++step) {
    INFO("step " << step);
    const nlohmann::json& row = j["checkpoints"][static_cast<size_t>(step - 1)];
    CHECK(row["step"] == step);
    char name[64];
    std::snprintf(name, sizeof(name), "step_%08lld.safetensors", static_cast<long long>(step));
    gtool::Run one = run("eval " + (runs / "checkpoints" / name).string() + " --seeds 2 -n 200 --json");
    REQUIRE(one.code == 0);
    const nlohmann::json alone = nlohmann::json::parse(one.out);
    for (const char* k : {"modes", "hq", "rkl"}) CHECK(row["mean"][k] == alone["mean"][k]);
  }

  r = run("eval " + runs.string() + " --every-checkpoint --seeds 2 -n 200");
  REQUIRE(r.code == 0);
  CHECK(r.out.find("3 checkpoint(s), 200 samples per seed, 2 seed(s)") != std::string::npos);
  CHECK(gtool::lines(r.out) == 5);  // the title, the header and one row per checkpoint

  r = run("eval " + (runs / "checkpoints" / "step_00000002.safetensors").string() + " --every-checkpoint");
  CHECK(r.code == 1);
  CHECK(r.err.find("--every-checkpoint needs a run folder") != std::string::npos);
  CHECK(gtool::lines(r.err) == 1);
  const fs::path empty = dir() / "no_checkpoints";
  fs::create_directories(empty);
  r = run("eval " + empty.string() + " --every-checkpoint");
  CHECK(r.code == 1);
  CHECK(r.err.find("no checkpoints in") != std::string::npos);
  fs::remove_all(dir());
}
