// gan/checkpoint.h — one safetensors file per checkpoint holding G, D, the EMA G, both optimisers' state, and in
// the metadata the step, the noise Generator's (seed, offset), the data source's position (JSON: a mixture's
// Generator state or an image batcher's epoch and position), the learning-rate scale left by NaN rollbacks, the
// full config JSON, and two CRC-32s (zlib): one over the tensor payload, one over the tensor list and the other
// metadata. Written atomically (save_safetensors: temporary file, fsync, rename); the run folder keeps the last K.
// Reading verifies both checksums (a bit flip or a partial copy is named as such), and restoring checks that the
// checkpoint's models match the config's and names every difference.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/safetensors.h"
#include "gan/config.h"
#include "layers/module.h"
#include "layers/optim.h"

namespace ganglion {

class DataSource;

// The live objects a checkpoint is written from and restored into. g_ema may be null (EMA off).
struct CheckpointParts {
  Module* g = nullptr;
  Module* d = nullptr;
  Module* g_ema = nullptr;
  Optimizer* opt_g = nullptr;
  Optimizer* opt_d = nullptr;
  Generator* rng = nullptr;       // noise and penalty draws
  DataSource* data = nullptr;     // the data position
  double* lr_scale = nullptr;     // the learning-rate factor left by NaN rollbacks (1 = none)
};

struct Checkpoint {
  std::string path;
  TrainConfig config;
  int64_t step = 0;
  uint64_t rng_seed = 0, rng_offset = 0;
  nlohmann::json data_state;  // DataSource::state() at the step
  double lr_scale = 1;        // 1 in checkpoints written before rollbacks existed
  TensorMap tensors;  // prefixed "G.", "D.", "G_ema.", "opt_g.", "opt_d."
  // The tensors under `prefix` with the prefix removed.
  TensorMap part(const std::string& prefix) const;
  bool has_part(const std::string& prefix) const;
};

void save_checkpoint(const std::string& path, const TrainConfig& config, int64_t step, const CheckpointParts& p);
// Reads and checks a checkpoint file (format tag, checksums, metadata, config); Error naming the file and what is
// wrong on any problem. Checkpoints written before checksums existed are read without that check.
Checkpoint read_checkpoint(const std::string& path);
// Loads a checkpoint into the parts. When `expected` is given, its models must match the checkpoint's config:
// otherwise Error naming the file and every differing field.
void restore_checkpoint(const Checkpoint& ck, const CheckpointParts& p, const TrainConfig* expected = nullptr);

// <run_dir>/checkpoints/step_<step, 8 digits>.safetensors
std::string checkpoint_path(const std::string& run_dir, int64_t step);
// The checkpoints of a run folder, oldest first.
std::vector<std::string> list_checkpoints(const std::string& run_dir);
// The newest checkpoint of a run folder (or `path` itself when it is a file); Error when there is none.
std::string resolve_checkpoint(const std::string& path);
// The checkpoint of the same run folder just older than `path` ("" when there is none).
std::string previous_checkpoint(const std::string& path);
// Removes all but the newest `keep` checkpoints.
void prune_checkpoints(const std::string& run_dir, int64_t keep);

}  // namespace ganglion
