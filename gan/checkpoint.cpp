// gan/checkpoint.cpp — writing, reading (with CRC-32 checks), restoring and rotating training checkpoints.
#include "gan/checkpoint.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/autograd.h"
#include "gan/data_source.h"

namespace ganglion {

namespace fs = std::filesystem;
namespace {

constexpr const char* kFormat = "ganglion-checkpoint-1";

void put(TensorMap& out, const std::string& prefix, const TensorMap& in) {
  for (const auto& [k, t] : in) out[prefix + k] = t;
}

constexpr const char* kPayloadCrc = "payload_crc32";
constexpr const char* kHeaderCrc = "header_crc32";

uint32_t crc_update(uint32_t crc, const void* data, size_t n) {
  return static_cast<uint32_t>(crc32_z(crc, static_cast<const Bytef*>(data), n));
}

std::string hex32(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "%08x", v);
  return b;
}

// CRC-32 of the tensors' bytes in the map's (sorted) order, the order save_safetensors lays them out in.
// The tensors must be on the host.
uint32_t payload_crc(const TensorMap& host) {
  uint32_t crc = crc_update(0, nullptr, 0);
  for (const auto& [name, t] : host) {
    const size_t bytes = static_cast<size_t>(t.numel()) * dtype_size(t.dtype());
    if (bytes == 0) continue;
    const void* p = t.dtype() == DType::F32 ? static_cast<const void*>(t.data()) : static_cast<const void*>(t.data_i32());
    crc = crc_update(crc, p, bytes);
  }
  return crc;
}

// CRC-32 of the tensor list (name, dtype, shape) and every metadata entry but the two checksums.
uint32_t header_crc(const TensorMap& tensors, const std::map<std::string, std::string>& meta) {
  std::string text;
  for (const auto& [name, t] : tensors) text += name + "|" + dtype_name(t.dtype()) + "|" + shape_str(t.shape()) + "\n";
  for (const auto& [k, v] : meta)
    if (k != kPayloadCrc && k != kHeaderCrc) text += k + "=" + v + "\n";
  return crc_update(crc_update(0, nullptr, 0), text.data(), text.size());
}

// Both checksums of a checkpoint just read; Error naming the file when either differs from what was stored.
void verify_checksums(const std::string& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& meta) {
  auto stored_payload = meta.find(kPayloadCrc), stored_header = meta.find(kHeaderCrc);
  if (stored_payload == meta.end() && stored_header == meta.end()) return;  // written before checksums
  if (stored_payload == meta.end() || stored_header == meta.end())
    throw Error("checkpoint '" + path + "' is corrupt: it has only one of its two checksums (" + kPayloadCrc +
                ", " + kHeaderCrc + ")");
  const std::string header_now = hex32(header_crc(tensors, meta));
  if (header_now != stored_header->second)
    throw Error("checkpoint '" + path + "' is corrupt: its tensor list or metadata changed after it was written "
                "(header CRC-32 " + header_now + ", stored " + stored_header->second + ")");
  const std::string payload_now = hex32(payload_crc(tensors));
  if (payload_now != stored_payload->second)
    throw Error("checkpoint '" + path + "' is corrupt: its tensor data changed after it was written (CRC-32 " +
                payload_now + ", stored " + stored_payload->second + "; a flipped bit or a damaged copy)");
}

std::string decimal(double v) {
  char b[40];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

uint64_t parse_u64(const std::map<std::string, std::string>& meta, const std::string& key, const std::string& path) {
  auto it = meta.find(key);
  if (it == meta.end()) throw Error("checkpoint '" + path + "' lacks the metadata entry '" + key + "'");
  try {
    size_t used = 0;
    uint64_t v = std::stoull(it->second, &used);
    if (used != it->second.size()) throw std::invalid_argument("trailing characters");
    return v;
  } catch (const std::exception&) {
    throw Error("checkpoint '" + path + "': metadata '" + key + "' is not a number: '" + it->second + "'");
  }
}

}  // namespace

TensorMap Checkpoint::part(const std::string& prefix) const {
  TensorMap out;
  for (const auto& [k, t] : tensors)
    if (k.rfind(prefix, 0) == 0) out[k.substr(prefix.size())] = t;
  return out;
}

bool Checkpoint::has_part(const std::string& prefix) const {
  for (const auto& [k, t] : tensors)
    if (k.rfind(prefix, 0) == 0) return true;
  return false;
}

void save_checkpoint(const std::string& path, const TrainConfig& config, int64_t step, const CheckpointParts& p) {
  TensorMap t;
  put(t, "G.", p.g->state_dict());
  put(t, "D.", p.d->state_dict());
  if (p.g_ema) put(t, "G_ema.", p.g_ema->state_dict());
  if (p.opt_g) put(t, "opt_g.", p.opt_g->state_dict());
  if (p.opt_d) put(t, "opt_d.", p.opt_d->state_dict());
  {  // one host copy, used for both the checksum and the file
    NoGradGuard ng;
    for (auto& [name, tensor] : t)
      if (!tensor.device().is_cpu()) tensor = tensor.to(Device::cpu());
  }
  std::map<std::string, std::string> meta = {
      {"format", kFormat},
      {"step", std::to_string(step)},
      {"config", to_json(config).dump()},
      {"rng_seed", std::to_string(p.rng ? p.rng->seed() : 0)},
      {"rng_offset", std::to_string(p.rng ? p.rng->offset() : 0)},
      {"data_state", p.data ? p.data->state().dump() : "{}"},
      {"lr_scale", decimal(p.lr_scale ? *p.lr_scale : 1.0)},
  };
  meta[kPayloadCrc] = hex32(payload_crc(t));
  meta[kHeaderCrc] = hex32(header_crc(t, meta));
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec) throw Error("cannot create checkpoint folder '" + parent.string() + "': " + ec.message());
  }
  save_safetensors(path, t, meta);
}

Checkpoint read_checkpoint(const std::string& path) {
  if (!fs::exists(path)) throw Error("checkpoint '" + path + "' does not exist");
  Checkpoint ck;
  ck.path = path;
  std::map<std::string, std::string> meta;
  ck.tensors = load_safetensors(path, &meta);  // its errors name the file and what is malformed
  auto fmt = meta.find("format");
  if (fmt == meta.end() || fmt->second != kFormat)
    throw Error("'" + path + "' is not a Ganglion training checkpoint (no format tag '" + kFormat + "')");
  verify_checksums(path, ck.tensors, meta);
  auto cfg = meta.find("config");
  if (cfg == meta.end()) throw Error("checkpoint '" + path + "' has no config in its metadata");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(cfg->second);
  } catch (const std::exception& e) {
    throw Error("checkpoint '" + path + "': its config is not valid JSON: " + e.what());
  }
  ck.config = config_from_json(j, TrainConfig{}, "config in checkpoint '" + path + "'");
  ck.step = static_cast<int64_t>(parse_u64(meta, "step", path));
  ck.rng_seed = parse_u64(meta, "rng_seed", path);
  ck.rng_offset = parse_u64(meta, "rng_offset", path);
  if (auto ds = meta.find("data_state"); ds != meta.end()) {
    try {
      ck.data_state = nlohmann::json::parse(ds->second);
    } catch (const std::exception& e) {
      throw Error("checkpoint '" + path + "': its data_state is not valid JSON: " + e.what());
    }
  } else {  // written before data sources: the 2-D data Generator's state
    ck.data_state = {{"seed", parse_u64(meta, "data_seed", path)}, {"offset", parse_u64(meta, "data_offset", path)}};
  }
  if (auto ls = meta.find("lr_scale"); ls != meta.end()) {
    try {
      size_t used = 0;
      ck.lr_scale = std::stod(ls->second, &used);
      if (used != ls->second.size() || !(ck.lr_scale > 0 && ck.lr_scale <= 1)) throw std::invalid_argument("range");
    } catch (const std::exception&) {
      throw Error("checkpoint '" + path + "': metadata 'lr_scale' is not a number in (0, 1]: '" + ls->second + "'");
    }
  }
  if (!ck.has_part("G.") || !ck.has_part("D."))
    throw Error("checkpoint '" + path + "' lacks the generator or critic weights");
  return ck;
}

void restore_checkpoint(const Checkpoint& ck, const CheckpointParts& p, const TrainConfig* expected) {
  if (expected) {
    std::string diff = model_differences(ck.config, *expected);
    if (!diff.empty())
      throw Error("checkpoint '" + ck.path + "' does not fit this config (checkpoint vs config: " + diff + ")");
  }
  try {
    if (p.g) p.g->load_state_dict(ck.part("G."));
    if (p.d) p.d->load_state_dict(ck.part("D."));
    if (p.g_ema) p.g_ema->load_state_dict(ck.has_part("G_ema.") ? ck.part("G_ema.") : ck.part("G."));
    if (p.opt_g) p.opt_g->load_state_dict(ck.part("opt_g."));
    if (p.opt_d) p.opt_d->load_state_dict(ck.part("opt_d."));
  } catch (const Error& e) {
    throw Error("checkpoint '" + ck.path + "': " + e.what());
  }
  if (p.rng) p.rng->set_state(ck.rng_seed, ck.rng_offset);
  if (p.lr_scale) *p.lr_scale = ck.lr_scale;
  if (p.data) {
    try {
      p.data->set_state(ck.data_state);
    } catch (const Error& e) {
      throw Error("checkpoint '" + ck.path + "': " + e.what());
    }
  }
}

std::string checkpoint_path(const std::string& run_dir, int64_t step) {
  char name[64];
  std::snprintf(name, sizeof name, "step_%08lld.safetensors", static_cast<long long>(step));
  return (fs::path(run_dir) / "checkpoints" / name).string();
}

std::vector<std::string> list_checkpoints(const std::string& run_dir) {
  std::vector<std::string> out;
  fs::path dir = fs::path(run_dir) / "checkpoints";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string n = e.path().filename().string();
    if (e.is_regular_file() && n.rfind("step_", 0) == 0 && n.size() > 12 &&
        n.substr(n.size() - 12) == ".safetensors")
      out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());  // zero-padded steps sort by name
  return out;
}

std::string resolve_checkpoint(const std::string& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return path;
  if (!fs::exists(path, ec)) throw Error("'" + path + "' does not exist (expected a run folder or checkpoint file)");
  auto all = list_checkpoints(path);
  if (all.empty()) throw Error("run folder '" + path + "' has no checkpoints (looked in " +
                               (fs::path(path) / "checkpoints").string() + ")");
  return all.back();
}

std::string previous_checkpoint(const std::string& path) {
  const fs::path run = fs::path(path).parent_path().parent_path();
  std::string before;
  for (const std::string& c : list_checkpoints(run.empty() ? "." : run.string())) {
    if (fs::path(c).filename() >= fs::path(path).filename()) break;
    before = c;
  }
  return before;
}

void prune_checkpoints(const std::string& run_dir, int64_t keep) {
  auto all = list_checkpoints(run_dir);
  for (size_t i = 0; i + static_cast<size_t>(keep) < all.size(); ++i) {
    std::error_code ec;
    fs::remove(all[i], ec);
  }
}

}  // namespace ganglion
