// tests/test_gan_train.cpp — tiny training runs on ring8: a run interrupted after 15 steps (checkpoint) and
// resumed to 30 gives exactly the losses of an uninterrupted 30-step run; the run folder has its files; a
// checkpoint refuses a config with other model shapes, naming the fields; the critic penalty's value is recorded;
// the toy-grid25-r1 preset differs from the default only where it should.
#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "gan/checkpoint.h"
#include "gan/trainer.h"

using namespace ganglion;
namespace fs = std::filesystem;

namespace {
TrainConfig tiny_config() {
  TrainConfig c = preset_config("toy-ring8-gan");
  c.loss = "wasserstein";
  c.penalty = "gp";  // exercises the penalty's Generator draws and double backward
  c.n_critic = 2;
  c.batch = 32;
  c.mlp.g_hidden = 16;
  c.mlp.g_layers = 2;
  c.mlp.d_hidden = 8;
  c.mlp.d_pieces = 3;
  c.mlp.pack = 2;
  c.ema_decay = 0.9f;
  c.steps = 30;
  c.seed = 11;
  c.device = "cpu";
  c.eval_samples = 100;
  c.log_every = 10;
  c.sample_every = 100;
  c.checkpoint_every = 100;
  return c;
}

std::string temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("ganglion_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p.string();
}
}  // namespace

TEST_CASE("interrupt after 15 steps and resume gives the losses of an uninterrupted 30-step run", "[gan][train]") {
  const TrainConfig c = tiny_config();
  std::vector<StepLosses> full;
  {
    Trainer t(c, temp_dir("full"));
    for (int i = 0; i < 30; ++i) full.push_back(t.train_step());
  }
  std::string dir = temp_dir("resume");
  std::vector<StepLosses> parts;
  {
    Trainer t(c, dir);
    for (int i = 0; i < 15; ++i) parts.push_back(t.train_step());
    t.save_checkpoint();
  }
  auto r = Trainer::resume(dir);
  CHECK(r->step() == 15);
  while (r->step() < 30) parts.push_back(r->train_step());
  REQUIRE(parts.size() == full.size());
  for (size_t i = 0; i < full.size(); ++i) {
    INFO("step " << i + 1);
    CHECK(parts[i].loss_d == full[i].loss_d);
    CHECK(parts[i].loss_g == full[i].loss_g);
  }
  // The EMA generator was restored too: both give the same samples.
  Trainer again(c, temp_dir("again"));
  for (int i = 0; i < 30; ++i) again.train_step();
  CHECK(again.evaluate(5, 64).counts == r->evaluate(5, 64).counts);
  fs::remove_all(dir);
}

TEST_CASE("run() writes the run folder and stops cleanly when asked", "[gan][train]") {
  TrainConfig c = tiny_config();
  c.steps = 12;
  c.log_every = 4;
  c.sample_every = 6;
  c.checkpoint_every = 4;
  c.keep_checkpoints = 2;
  std::string dir = temp_dir("run");
  Trainer t(c, dir);
  std::atomic<int> stop{0};
  TrainResult r = t.run({nullptr, &stop});
  CHECK(r.step == 12);
  CHECK_FALSE(r.interrupted);
  CHECK(r.has_modes);
  CHECK(r.final_metrics.samples == 100);
  for (const char* f : {"config.json", "metrics.jsonl", "final.json", "report.html", "samples/step_00000000.png",
                        "samples/step_00000006.png", "samples/step_00000012.png"})
    CHECK(fs::exists(fs::path(dir) / f));
  CHECK(list_checkpoints(dir).size() == 2);  // steps 8 and 12 kept of 4, 8, 12
  std::ifstream m(fs::path(dir) / "metrics.jsonl");
  int lines = 0;
  for (std::string l; std::getline(m, l);) ++lines;
  CHECK(lines == 3);
  std::ifstream rep(fs::path(dir) / "report.html");
  std::string html((std::istreambuf_iterator<char>(rep)), std::istreambuf_iterator<char>());
  CHECK(html.find("<svg") != std::string::npos);
  CHECK(html.find("samples/step_00000012.png") != std::string::npos);

  // A stop request: the step finishes, a checkpoint is written, run() returns interrupted.
  auto resumed = Trainer::resume(dir, ResumeOverrides{.steps = 20, .device = "", .data_path = ""});
  stop.store(15);
  TrainResult s = resumed->run({nullptr, &stop});
  CHECK(s.interrupted);
  CHECK(s.stop_signal == 15);
  CHECK(s.step == 13);
  CHECK(fs::exists(checkpoint_path(dir, 13)));
  fs::remove_all(dir);
}

TEST_CASE("a checkpoint names what differs from an incompatible config", "[gan][checkpoint]") {
  TrainConfig c = tiny_config();
  std::string dir = temp_dir("compat");
  Trainer t(c, dir);
  std::string path = t.save_checkpoint();
  Checkpoint ck = read_checkpoint(path);
  CHECK(ck.step == 0);
  CHECK(ck.config.mlp.g_hidden == 16);
  TrainConfig other = c;
  other.mlp.g_hidden = 32;
  other.data = "grid25";
  Trainer t2(other, temp_dir("compat2"));
  CheckpointParts none;
  try {
    restore_checkpoint(ck, none, &other);
    FAIL("expected an error");
  } catch (const Error& e) {
    std::string msg = e.what();
    CHECK(msg.find("mlp.g_hidden: 16 vs 32") != std::string::npos);
    CHECK(msg.find("data: \"ring8\" vs \"grid25\"") != std::string::npos);
  }
  // A file that is not a checkpoint.
  std::string junk = (fs::path(dir) / "junk.safetensors").string();
  std::ofstream(junk) << "not a safetensors file";
  CHECK_THROWS_WITH(read_checkpoint(junk), Catch::Contains("junk.safetensors"));
  CHECK_THROWS_WITH(resolve_checkpoint(dir + "/nope"), Catch::Contains("does not exist"));
  fs::remove_all(dir);
}

TEST_CASE("the EMA generator averages weights and BatchNorm statistics with the same decay", "[gan][train]") {
  TrainConfig c = tiny_config();
  c.ema_decay = 0.75f;
  Trainer t(c, temp_dir("ema"));
  auto values = [](const NamedTensors& named) {
    std::map<std::string, std::vector<float>> out;
    for (const auto& [name, v] : named) out[name] = v.to_vector();
    return out;
  };
  for (int i = 0; i < 3; ++i) t.train_step();  // statistics away from their initial 0 / 1
  auto ema_params = values(t.sampling_model().named_parameters());
  auto ema_stats = values(t.sampling_model().named_buffers());
  t.train_step();
  auto g_params = values(t.generator().named_parameters()), g_stats = values(t.generator().named_buffers());
  auto new_params = values(t.sampling_model().named_parameters());
  auto new_stats = values(t.sampling_model().named_buffers());
  int checked_stats = 0;
  auto expect_blend = [&](const auto& before, const auto& raw, const auto& after, const std::string& name) {
    INFO(name);
    REQUIRE(after.at(name).size() == raw.at(name).size());
    for (size_t i = 0; i < after.at(name).size(); ++i)
      REQUIRE(after.at(name)[i] == Approx(0.75f * before.at(name)[i] + 0.25f * raw.at(name)[i]).margin(1e-6));
  };
  for (const auto& [name, v] : new_params) expect_blend(ema_params, g_params, new_params, name);
  for (const auto& [name, v] : new_stats) {
    if (name.find("running_") == std::string::npos) continue;
    expect_blend(ema_stats, g_stats, new_stats, name);
    CHECK(new_stats.at(name) != g_stats.at(name));  // not a copy of the raw generator's
    ++checked_stats;
  }
  CHECK(checked_stats == 2 * c.mlp.g_layers);  // running_mean and running_var of each BatchNorm1d
  fs::remove_all(temp_dir("ema"));
}

TEST_CASE("the critic's penalty is recorded: scaled by its weight, in metrics.jsonl and in the report",
          "[gan][train]") {
  TrainConfig c = tiny_config();  // Wasserstein loss with the gradient penalty
  c.n_critic = 1;
  TrainConfig doubled = c;
  doubled.lambda_gp = 2 * c.lambda_gp;
  // Same seed: the same weights, data and interpolation noise at step 1, so only the weight differs.
  const StepLosses a = Trainer(c, temp_dir("pen_a")).train_step();
  const StepLosses b = Trainer(doubled, temp_dir("pen_b")).train_step();
  CHECK(a.penalty > 0);
  CHECK(b.penalty == Approx(2 * a.penalty).epsilon(1e-5));
  CHECK(a.loss_d - a.penalty == Approx(b.loss_d - b.penalty).margin(1e-5));  // the Wasserstein part alone

  TrainConfig r1 = c;
  r1.loss = "nonsaturating";
  r1.penalty = "r1";
  CHECK(Trainer(r1, temp_dir("pen_r1")).train_step().penalty > 0);
  TrainConfig none = r1;
  none.penalty = "none";
  CHECK(Trainer(none, temp_dir("pen_none")).train_step().penalty == 0);

  for (const TrainConfig& cfg : {c, none}) {
    TrainConfig run_cfg = cfg;
    run_cfg.steps = 4;
    run_cfg.log_every = 2;
    const std::string dir = temp_dir("pen_run");
    Trainer t(run_cfg, dir);
    std::atomic<int> stop{0};
    t.run({nullptr, &stop});
    std::ifstream m(fs::path(dir) / "metrics.jsonl");
    int rows = 0;
    for (std::string line; std::getline(m, line); ++rows) {
      const nlohmann::json j = nlohmann::json::parse(line);
      CHECK(j.contains("penalty") == (cfg.penalty == "gp"));
      if (j.contains("penalty")) CHECK(j["penalty"].get<double>() > 0);
    }
    CHECK(rows == 2);
    std::ifstream rep(fs::path(dir) / "report.html");
    const std::string html((std::istreambuf_iterator<char>(rep)), std::istreambuf_iterator<char>());
    CHECK((html.find("critic penalty") != std::string::npos) == (cfg.penalty == "gp"));
    fs::remove_all(dir);
  }
  for (const char* d : {"pen_a", "pen_b", "pen_r1", "pen_none"}) fs::remove_all(temp_dir(d));
}

TEST_CASE("preset toy-grid25-r1 is toy-grid25 with R1 (gamma 1) and 12,000 steps, and its step is penalised",
          "[gan][train]") {
  nlohmann::json base = to_json(preset_config("toy-grid25"));
  nlohmann::json r1 = to_json(preset_config("toy-grid25-r1"));
  CHECK(r1["penalty"] == "r1");
  CHECK(r1["gamma_r1"].get<double>() == 1.0);
  CHECK(r1["steps"].get<int>() == 12000);
  for (const char* k : {"preset", "penalty", "gamma_r1", "steps"}) base.erase(k), r1.erase(k);
  CHECK(base == r1);  // nothing else differs from the default recipe
  TrainConfig c = preset_config("toy-grid25-r1");
  c.batch = 32;  // a small step: only the penalty's presence is checked here
  c.eval_samples = 100;
  validate(c);
  const StepLosses l = Trainer(c, temp_dir("preset_r1")).train_step();
  CHECK(l.penalty > 0);
  CHECK(std::isfinite(l.loss_d));
  fs::remove_all(temp_dir("preset_r1"));
}
