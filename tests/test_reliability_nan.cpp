// tests/test_reliability_nan.cpp — the NaN/Inf check before every optimiser update and the three on_nan policies.
// NaN is planted through the trainer's update hook (a poisoned gradient of one named parameter, or a poisoned
// loss) at a chosen step; each policy is run on a tiny ring8 model: stop keeps the last good state and names the
// loss/parameter/step, skip drops the step without touching the weights, rollback restores the newest checkpoint
// with a learning-rate cut and gives up after nan_max_rollbacks. Also a real divergence (huge learning rates).
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "core/ops.h"
#include "gan/checkpoint.h"
#include "gan/trainer.h"
#include "reliability_util.h"

using namespace ganglion;
using reliability::scratch_dir;
using reliability::tiny_config;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Host copies of every parameter value of a module, by name.
std::map<std::string, std::vector<float>> snapshot(Module& m) {
  std::map<std::string, std::vector<float>> out;
  for (const auto& [name, p] : m.named_parameters()) out[name] = p.to_vector();
  return out;
}

bool all_finite(const TensorMap& tensors) {
  for (const auto& [name, t] : tensors)
    for (float v : t.to_vector())
      if (!std::isfinite(v)) return false;
  return true;
}

// The name of the critic's second parameter (a weight in the middle of the network) and a hook poisoning its
// gradient at the given steps.
std::string critic_param(Trainer& t) { return t.critic().named_parameters().at(1).first; }

UpdateHook poison_critic_grad_at(std::set<int64_t> steps, const std::string& param, int* fired = nullptr) {
  return [steps, param, fired](int64_t step, const std::string& model, std::vector<NamedLoss>&, Module& m) {
    if (model != "critic" || !steps.count(step)) return;
    for (const auto& [name, p] : m.named_parameters()) {
      if (name != param) continue;
      Tensor g = p.grad();  // shares the gradient's storage
      fill_(g, kNaN);
    }
    if (fired) ++*fired;
  };
}

std::vector<int64_t> metric_steps(const std::string& run_dir) {
  std::ifstream f(reliability::fs::path(run_dir) / "metrics.jsonl");
  std::vector<int64_t> steps;
  for (std::string line; std::getline(f, line);) steps.push_back(nlohmann::json::parse(line)["step"].get<int64_t>());
  return steps;
}

}  // namespace

TEST_CASE("on_nan stop: a poisoned gradient stops the run, names parameter and step, keeps the last good state",
          "[reliability]") {
  TrainConfig c = tiny_config();
  c.on_nan = "stop";
  const std::string dir = scratch_dir("nan_stop");
  Trainer t(c, dir);
  const std::string param = critic_param(t);
  std::map<std::string, std::vector<float>> before_bad_step;
  int fired = 0;
  auto poison = poison_critic_grad_at({6}, param, &fired);
  t.set_update_hook([&](int64_t step, const std::string& model, std::vector<NamedLoss>& l, Module& m) {
    if (step == 6 && model == "critic") before_bad_step = snapshot(m);  // weights after step 5
    poison(step, model, l, m);
  });
  std::ostringstream log;
  TrainResult r = t.run({&log, nullptr});
  CHECK(fired == 1);
  CHECK(r.failed);
  CHECK(r.step == 5);
  INFO(r.failure);
  CHECK(r.failure.find("non-finite value at step 6 (critic update 1 of 1)") != std::string::npos);
  CHECK(r.failure.find("gradient of D." + param) != std::string::npos);
  CHECK(r.failure.find("stopped (on_nan stop)") != std::string::npos);
  CHECK(log.str().find(r.failure) != std::string::npos);
  // The bad update was never applied: the critic is exactly as it was after step 5, and the checkpoint holds it.
  CHECK(snapshot(t.critic()) == before_bad_step);
  REQUIRE(r.checkpoint == checkpoint_path(dir, 5));
  Checkpoint ck = read_checkpoint(r.checkpoint);
  CHECK(ck.step == 5);
  CHECK(all_finite(ck.tensors));
  for (const auto& [name, values] : before_bad_step) CHECK(ck.part("D.").at(name).to_vector() == values);
  reliability::fs::remove_all(dir);
}

TEST_CASE("on_nan stop: a NaN generator loss is named; the step is undone, so the run resumes exactly",
          "[reliability]") {
  TrainConfig c = tiny_config();
  c.steps = 6;
  const std::string dir = scratch_dir("nan_loss");
  Trainer t(c, dir);
  t.set_update_hook([](int64_t step, const std::string& model, std::vector<NamedLoss>& losses, Module&) {
    if (step == 3 && model == "generator") losses.at(0).value = scalar_tensor(kNaN);
  });
  TrainResult r = t.run();
  INFO(r.failure);
  CHECK(r.failed);
  CHECK(r.step == 2);
  CHECK(r.failure.find("non-finite value at step 3 (generator update): loss loss_g (the nonsaturating generator "
                       "loss) is nan") != std::string::npos);
  // The critic update of step 3 had been applied before the generator's check failed; it was undone, and the
  // noise and data positions rewound, so the checkpoint is exactly the state after step 2: resuming from it gives
  // the losses of a run that never met the NaN.
  REQUIRE(r.checkpoint == checkpoint_path(dir, 2));
  CHECK(all_finite(read_checkpoint(r.checkpoint).tensors));
  Trainer clean(c, scratch_dir("nan_loss_clean"));
  std::vector<StepLosses> want;
  for (int i = 0; i < 4; ++i) want.push_back(clean.train_step());
  auto resumed = Trainer::resume(r.checkpoint);
  for (int i = 2; i < 4; ++i) {
    StepLosses got = resumed->train_step();
    INFO("step " << i + 1);
    CHECK(got.loss_d == want[static_cast<size_t>(i)].loss_d);
    CHECK(got.loss_g == want[static_cast<size_t>(i)].loss_g);
  }
  reliability::fs::remove_all(dir);
  reliability::fs::remove_all(clean.run_dir());
}

TEST_CASE("on_nan skip: poisoned steps are dropped without an update, counted and logged", "[reliability]") {
  TrainConfig c = tiny_config();
  c.on_nan = "skip";
  c.steps = 8;
  const std::string dir = scratch_dir("nan_skip");
  Trainer t(c, dir);
  const std::string param = critic_param(t);
  auto poison = poison_critic_grad_at({3, 5}, param);
  std::map<int64_t, std::map<std::string, std::vector<float>>> g_at, d_at;
  t.set_update_hook([&](int64_t step, const std::string& model, std::vector<NamedLoss>& l, Module& m) {
    if (model == "critic") {
      g_at[step] = snapshot(t.generator());
      d_at[step] = snapshot(m);
    }
    poison(step, model, l, m);
  });
  std::ostringstream log;
  TrainResult r = t.run({&log, nullptr});
  CHECK_FALSE(r.failed);
  CHECK(r.step == 8);
  CHECK(r.skipped_steps == 2);
  CHECK(log.str().find("non-finite value at step 3 (critic update 1 of 1): gradient of D." + param) !=
        std::string::npos);
  CHECK(log.str().find("step skipped (2 so far)") != std::string::npos);
  // Step 3 applied nothing: the models at the start of step 4 are those at the start of step 3.
  CHECK(g_at.at(4) == g_at.at(3));
  CHECK(d_at.at(4) == d_at.at(3));
  CHECK(g_at.at(3) != g_at.at(2));  // while a normal step does change them
  // Skipped steps write no metrics row; the others do, and the count is in final.json.
  CHECK(metric_steps(dir) == std::vector<int64_t>{1, 2, 4, 6, 7, 8});
  std::ifstream fj(reliability::fs::path(dir) / "final.json");
  CHECK(nlohmann::json::parse(fj)["skipped_steps"] == 2);
  reliability::fs::remove_all(dir);
}

TEST_CASE("on_nan rollback: back to the newest checkpoint with the learning rates cut, then on", "[reliability]") {
  TrainConfig c = tiny_config();
  c.on_nan = "rollback";
  c.nan_lr_cut = 0.5f;
  c.checkpoint_every = 4;
  const std::string dir = scratch_dir("nan_rollback");
  Trainer t(c, dir);
  int fired = 0;
  // Poison step 6 once only: the replay after the rollback passes.
  t.set_update_hook([&, poison = poison_critic_grad_at({6}, critic_param(t), &fired)](
                        int64_t step, const std::string& model, std::vector<NamedLoss>& l, Module& m) {
    if (fired == 0) poison(step, model, l, m);
  });
  std::ostringstream log;
  TrainResult r = t.run({&log, nullptr});
  INFO(log.str());
  CHECK_FALSE(r.failed);
  CHECK(r.step == 10);
  CHECK(r.rollbacks == 1);
  CHECK(t.lr_scale() == 0.5);
  CHECK(log.str().find("rolled back to step 4 (" + checkpoint_path(dir, 4) + "), learning rates x0.5 (rollback 1 of 3)") !=
        std::string::npos);
  // The metrics rows after the checkpoint were rewritten, not duplicated.
  CHECK(metric_steps(dir) == std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  // The cut is kept by the checkpoints written after it, so a resumed run goes on with it.
  CHECK(read_checkpoint(r.checkpoint).lr_scale == 0.5);
  reliability::fs::remove_all(dir);
}

TEST_CASE("on_nan rollback gives up after nan_max_rollbacks with a clear message", "[reliability]") {
  TrainConfig c = tiny_config();
  c.on_nan = "rollback";
  c.nan_lr_cut = 0.5f;
  c.nan_max_rollbacks = 2;
  c.checkpoint_every = 4;
  const std::string dir = scratch_dir("nan_giveup");
  Trainer t(c, dir);
  const std::string param = critic_param(t);
  t.set_update_hook(poison_critic_grad_at({6}, param));  // every time step 6 comes round
  TrainResult r = t.run();
  INFO(r.failure);
  CHECK(r.failed);
  CHECK(r.rollbacks == 2);
  CHECK(t.lr_scale() == 0.25);
  CHECK(r.failure.find("gradient of D." + param) != std::string::npos);
  CHECK(r.failure.find("gave up after 2 rollback(s) (nan_max_rollbacks 2)") != std::string::npos);
  CHECK(r.step == 5);
  CHECK(all_finite(read_checkpoint(r.checkpoint).tensors));
  reliability::fs::remove_all(dir);
}

TEST_CASE("a real divergence (huge learning rates) is caught before it reaches the weights", "[reliability]") {
  TrainConfig c = tiny_config();
  c.lr_g = c.lr_d = 1e30f;
  c.steps = 20;
  const std::string dir = scratch_dir("nan_diverge");
  Trainer t(c, dir);
  TrainResult r = t.run();
  INFO(r.failure);
  REQUIRE(r.failed);
  CHECK(r.failure.find("non-finite value at step ") != std::string::npos);
  CHECK(all_finite(t.generator().state_dict()));
  CHECK(all_finite(t.critic().state_dict()));
  CHECK(all_finite(read_checkpoint(r.checkpoint).tensors));
  reliability::fs::remove_all(dir);
}

TEST_CASE("the finite check: one total, and the slow pass names the parameter the backward reached first",
          "[reliability]") {
  Tensor a = from_vector({1.f, 2.f}, {2}), b = from_vector({3.f}, {1});
  a.set_requires_grad(true);
  b.set_requires_grad(true);
  a.set_grad(from_vector({3.f, 4.f}, {2}));
  b.set_grad(from_vector({12.f}, {1}));
  NamedTensors params = {{"net.0.weight", a}, {"net.2.weight", b}};
  GuardResult ok = check_finite({{"loss", scalar_tensor(1.5f)}}, params);
  CHECK(ok.finite);
  CHECK(ok.grad_norm == Approx(13.0));
  a.set_grad(from_vector({kNaN, 1.f}, {2}));
  b.set_grad(from_vector({std::numeric_limits<float>::infinity()}, {1}));
  GuardResult bad = check_finite({{"loss", scalar_tensor(1.5f)}}, params);
  CHECK_FALSE(bad.finite);
  CHECK(bad.where == "gradient of net.2.weight (1 of 1 values NaN/Inf); 1 earlier parameter(s) inherit it: "
                     "net.0.weight");
  GuardResult bad_loss = check_finite({{"loss_d", scalar_tensor(kNaN)}}, params);
  CHECK(bad_loss.where == "loss loss_d is nan");
  // Finite values whose squares overflow float32 are reported as an overflowed norm.
  a.set_grad(from_vector({3e19f, 1.f}, {2}));
  b.set_grad(from_vector({1.f}, {1}));
  GuardResult overflow = check_finite({}, params);
  CHECK_FALSE(overflow.finite);
  CHECK(overflow.where.find("gradient norm overflowed float32") != std::string::npos);
  CHECK(overflow.where.find("largest: net.0.weight") != std::string::npos);
  CHECK_THROWS_WITH(parse_nan_policy("ignore"), Catch::Contains("'ignore' is not one of: stop, skip, rollback"));
}
