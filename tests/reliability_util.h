// tests/reliability_util.h — helpers shared by the tests/test_reliability_*.cpp files: a tiny 2-D training config
// that runs in milliseconds a step, a fresh scratch folder per test, reading and writing a file's bytes, and the
// message of the ganglion::Error a call throws.
#pragma once
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>
#include <string>

#include "gan/config.h"

namespace reliability {

namespace fs = std::filesystem;

// ring8 with small MLPs, CPU, constant learning rates, nothing logged/sampled/checkpointed unless a test asks.
inline ganglion::TrainConfig tiny_config() {
  ganglion::TrainConfig c = ganglion::preset_config("toy-ring8-gan");
  c.batch = 32;
  c.mlp.g_hidden = 16;
  c.mlp.g_layers = 2;
  c.mlp.d_hidden = 8;
  c.mlp.d_pieces = 2;
  c.lr_schedule = "constant";
  c.steps = 10;
  c.seed = 5;
  c.device = "cpu";
  c.eval_samples = 64;
  c.log_every = 1;
  c.sample_every = 1000;
  c.checkpoint_every = 1000;
  return c;
}

// An empty folder under the system temp folder, unique to this process and name.
inline std::string scratch_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("ganglion_rel_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// The message of the ganglion::Error that f throws, or "(no error)".
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ganglion::Error& e) {
    return e.what();
  }
  return "(no error)";
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << bytes;
}

}  // namespace reliability
