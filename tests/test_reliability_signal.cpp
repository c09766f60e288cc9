// tests/test_reliability_signal.cpp — the built `ganglion` program end to end (../tools/ganglion next to this
// test's build folder): SIGTERM mid-run finishes the step, writes a checkpoint and exits 143; `--resume` then
// gives exactly the metrics.jsonl of an uninterrupted run (CPU, one thread). Also `--on-nan stop` on a diverging
// run: exit 1 and one error line naming the step.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "gan/checkpoint.h"
#include "reliability_util.h"

namespace fs = std::filesystem;
using reliability::read_bytes;
using reliability::scratch_dir;

namespace {

fs::path tool_path() { return fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "tools" / "ganglion"; }

// Starts the tool with `args`, stdout and stderr to files in `dir`; returns its pid.
pid_t start_tool(const std::vector<std::string>& args, const std::string& dir, const std::string& tag) {
  const std::string out = dir + "/" + tag + ".out", err = dir + "/" + tag + ".err";
  const std::string exe = tool_path().string();
  pid_t pid = ::fork();
  if (pid == 0) {
    int fo = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fe = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fo < 0 || fe < 0 || ::dup2(fo, 1) < 0 || ::dup2(fe, 2) < 0) ::_exit(126);
    std::vector<char*> argv{const_cast<char*>(exe.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

int wait_exit_code(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int run_tool(const std::vector<std::string>& args, const std::string& dir, const std::string& tag) {
  return wait_exit_code(start_tool(args, dir, tag));
}

int count_lines(const fs::path& p) {
  std::ifstream f(p);
  int n = 0;
  for (std::string l; std::getline(f, l);) ++n;
  return n;
}

// Every metrics row without its wall-clock "seconds".
std::vector<nlohmann::json> metric_rows(const std::string& run_dir) {
  std::ifstream f(fs::path(run_dir) / "metrics.jsonl");
  std::vector<nlohmann::json> rows;
  for (std::string line; std::getline(f, line);) {
    nlohmann::json j = nlohmann::json::parse(line);
    j.erase("seconds");
    rows.push_back(j);
  }
  return rows;
}

// Tiny swissroll run (no mode metrics), every step logged, constant learning rates, one CPU thread.
std::vector<std::string> tiny_args(const std::string& run_dir, int64_t steps) {
  return {"train", "--data", "swissroll", "--steps", std::to_string(steps), "--batch", "64", "--g-hidden", "16",
          "--g-layers", "2", "--d-hidden", "8", "--d-pieces", "2", "--lr-schedule", "constant", "--log-every", "1",
          "--sample-every", "100000", "--checkpoint-every", "100000", "--device", "cpu", "--threads", "1", "-q",
          "--seed", "3", "--run-dir", run_dir};
}

}  // namespace

TEST_CASE("SIGTERM mid-run: exit 143 with a checkpoint; --resume reproduces the uninterrupted losses exactly",
          "[reliability][tool]") {
  REQUIRE(fs::exists(tool_path()));
  const std::string dir = scratch_dir("signal");
  const std::string cut = dir + "/cut", whole = dir + "/whole";
  pid_t pid = start_tool(tiny_args(cut, 1000000), dir, "cut");
  // Wait until it has logged a few steps (its signal handlers are in place by then), then ask it to stop.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (count_lines(fs::path(cut) / "metrics.jsonl") < 5 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ::kill(pid, SIGTERM);
  const int code = wait_exit_code(pid);
  INFO(read_bytes(dir + "/cut.out") << read_bytes(dir + "/cut.err"));
  REQUIRE(code == 143);
  auto cks = ganglion::list_checkpoints(cut);
  REQUIRE(cks.size() == 1);
  const int64_t stopped_at = ganglion::read_checkpoint(cks[0]).step;
  CHECK(stopped_at >= 5);
  CHECK(read_bytes(dir + "/cut.out").find("interrupted; continue with: ganglion train --resume") != std::string::npos);

  const int64_t total = stopped_at + 10;
  REQUIRE(run_tool({"train", "--resume", cut, "--steps", std::to_string(total), "--threads", "1", "-q"}, dir,
                   "resume") == 0);
  REQUIRE(run_tool(tiny_args(whole, total), dir, "whole") == 0);
  auto resumed = metric_rows(cut), uninterrupted = metric_rows(whole);
  REQUIRE(uninterrupted.size() == static_cast<size_t>(total));
  REQUIRE(resumed.size() == uninterrupted.size());
  for (size_t i = 0; i < resumed.size(); ++i) {
    INFO("row " << i << ": " << resumed[i].dump() << " vs " << uninterrupted[i].dump());
    CHECK(resumed[i] == uninterrupted[i]);  // step, losses, D outputs and gradient norms, bit for bit
  }
  fs::remove_all(dir);
}

TEST_CASE("ganglion train --on-nan stop on a diverging run: exit 1, one line naming the step", "[reliability][tool]") {
  const std::string dir = scratch_dir("tool_nan");
  auto args = tiny_args(dir + "/run", 50);
  for (const char* a : {"--lr", "1e30", "--on-nan", "stop"}) args.push_back(a);
  CHECK(run_tool(args, dir, "nan") == 1);
  const std::string err = read_bytes(dir + "/nan.err");
  INFO(err);
  CHECK(err.rfind("ganglion train: error: non-finite value at step ", 0) == 0);
  CHECK(err.find("stopped (on_nan stop); the last good state is checkpoint") != std::string::npos);
  CHECK(std::count(err.begin(), err.end(), '\n') == 1);
  auto bad = args;
  bad.insert(bad.end(), {"--on-nan", "ignore"});
  CHECK(run_tool(bad, dir, "bad") == 1);
  CHECK(read_bytes(dir + "/bad.err").find("on_nan 'ignore' is not one of: stop, skip, rollback") != std::string::npos);
  fs::remove_all(dir);
}
