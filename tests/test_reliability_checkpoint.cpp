// tests/test_reliability_checkpoint.cpp — checkpoints that cannot be trusted are refused with a message saying
// what is wrong (truncated, a flipped bit in the data or in the metadata, another model's tensors), the older
// checkpoints stay usable, and a checkpoint that cannot be written (read-only folder, a full disk simulated with
// RLIMIT_FSIZE) leaves the last good one in place and says so, naming the path and the system's reason.
#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>

#include "gan/checkpoint.h"
#include "gan/trainer.h"
#include "reliability_util.h"

using namespace ganglion;
using reliability::error_of;
using reliability::read_bytes;
using reliability::scratch_dir;
using reliability::tiny_config;
using reliability::write_bytes;
namespace fs = std::filesystem;

namespace {

// A run folder with checkpoints at steps 2 and 4 (returned oldest first).
std::vector<std::string> two_checkpoints(const std::string& dir) {
  Trainer t(tiny_config(), dir);
  t.train_step();
  t.train_step();
  t.save_checkpoint();
  t.train_step();
  t.train_step();
  t.save_checkpoint();
  return list_checkpoints(dir);
}

bool has_temp_files(const std::string& dir) {
  for (const auto& e : fs::directory_iterator(fs::path(dir) / "checkpoints"))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) return true;
  return false;
}

// Sets the soft file-size limit for the scope (SIGXFSZ ignored, so a write past it fails with EFBIG).
struct FileSizeLimit {
  rlimit old{};
  void (*old_handler)(int) = SIG_DFL;
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &old);
    old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit lim = old;
    lim.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &lim);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
  }
};

}  // namespace

TEST_CASE("checkpoints carry CRC-32s of their data and metadata, leave no temporary files, and older ones load",
          "[reliability]") {
  const std::string dir = scratch_dir("ck_crc");
  auto cks = two_checkpoints(dir);
  REQUIRE(cks.size() == 2);
  std::map<std::string, std::string> meta;
  load_safetensors(cks[1], &meta);
  CHECK(meta.at("payload_crc32").size() == 8);
  CHECK(meta.at("header_crc32").size() == 8);
  CHECK(meta.at("lr_scale") == "1");
  CHECK_FALSE(has_temp_files(dir));
  CHECK(read_checkpoint(cks[1]).step == 4);
  // A checkpoint written before checksums existed (neither entry) is still read; one with a single entry is not.
  TensorMap tensors = load_safetensors(cks[1], &meta);
  meta.erase("payload_crc32");
  save_safetensors(cks[1], tensors, meta);
  CHECK(error_of([&] { read_checkpoint(cks[1]); }).find("has only one of its two checksums") != std::string::npos);
  meta.erase("header_crc32");
  save_safetensors(cks[1], tensors, meta);
  CHECK(read_checkpoint(cks[1]).step == 4);
  fs::remove_all(dir);
}

TEST_CASE("a truncated newest checkpoint is refused and the previous one is untouched and named", "[reliability]") {
  const std::string dir = scratch_dir("ck_trunc");
  auto cks = two_checkpoints(dir);
  const std::string older = read_bytes(cks[0]), newest = read_bytes(cks[1]);
  write_bytes(cks[1], newest.substr(0, newest.size() / 2));
  std::string e = error_of([&] { read_checkpoint(cks[1]); });
  CHECK(e.find(cks[1]) != std::string::npos);
  CHECK(e.find("truncated") != std::string::npos);
  e = error_of([&] { Trainer::resume(dir); });
  CHECK(e.find("truncated") != std::string::npos);
  CHECK(e.find("the previous checkpoint '" + cks[0] + "' is untouched: continue from it with --resume " + cks[0]) !=
        std::string::npos);
  CHECK(read_bytes(cks[0]) == older);
  CHECK(Trainer::resume(cks[0])->step() == 2);
  fs::remove_all(dir);
}

TEST_CASE("a flipped bit in a checkpoint's data or metadata is caught by its CRC-32", "[reliability]") {
  const std::string dir = scratch_dir("ck_flip");
  auto cks = two_checkpoints(dir);
  const std::string good = read_bytes(cks[1]);
  std::string flipped = good;
  flipped[flipped.size() - 3] ^= 0x10;  // inside the last tensor's bytes
  write_bytes(cks[1], flipped);
  std::string e = error_of([&] { read_checkpoint(cks[1]); });
  CHECK(e.find("checkpoint '" + cks[1] + "' is corrupt: its tensor data changed after it was written") !=
        std::string::npos);
  // A changed digit in the metadata still parses as JSON, so only the header checksum can catch it.
  std::string meta_flip = good;
  size_t at = meta_flip.find("\"rng_offset\":\"");
  REQUIRE(at != std::string::npos);
  char& digit = meta_flip[at + 14];
  digit = digit == '9' ? '8' : static_cast<char>(digit + 1);
  write_bytes(cks[1], meta_flip);
  e = error_of([&] { read_checkpoint(cks[1]); });
  CHECK(e.find("is corrupt: its tensor list or metadata changed after it was written") != std::string::npos);
  CHECK(read_checkpoint(cks[0]).step == 2);  // the older one is fine
  fs::remove_all(dir);
}

TEST_CASE("a checkpoint of another model is refused, naming what differs", "[reliability]") {
  const std::string dir = scratch_dir("ck_model");
  TrainConfig small = tiny_config(), wide = tiny_config();
  wide.mlp.g_hidden = 32;
  Trainer a(small, dir + "/a"), b(wide, dir + "/b");
  std::string ck_a = a.save_checkpoint();
  // Restoring into a trainer of another config: the differing fields are named.
  CheckpointParts into_b{&b.generator(), &b.critic()};
  std::string e = error_of([&] { restore_checkpoint(read_checkpoint(ck_a), into_b, &wide); });
  CHECK(e.find("does not fit this config (checkpoint vs config: mlp.g_hidden: 16 vs 32)") != std::string::npos);
  // A file whose config says one model but whose tensors are another's (consistent checksums, so only the shapes
  // can tell): the key and both shapes are named.
  std::string mixed = dir + "/mixed/checkpoints/step_00000000.safetensors";
  save_checkpoint(mixed, small, 0, CheckpointParts{&b.generator(), &b.critic()});
  e = error_of([&] { Trainer::resume(mixed); });
  CHECK(e.find(mixed) != std::string::npos);
  CHECK(e.find("shape") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("a read-only checkpoint folder gives a clear error and keeps the last good checkpoint", "[reliability]") {
  const std::string dir = scratch_dir("ck_readonly");
  TrainConfig c = tiny_config();
  Trainer t(c, dir);
  t.train_step();
  const std::string good = t.save_checkpoint();
  const std::string good_bytes = read_bytes(good);
  t.train_step();
  const fs::path ckdir = fs::path(dir) / "checkpoints";
  if (::geteuid() == 0) {
    WARN("SKIPPED the chmod part: running as root, so a read-only folder does not stop writes");
  } else {
    ::chmod(ckdir.c_str(), 0555);
    std::string e = error_of([&] { t.save_checkpoint(); });
    ::chmod(ckdir.c_str(), 0755);
    CHECK(e.find(checkpoint_path(dir, 2)) != std::string::npos);
    CHECK(e.find("Permission denied") != std::string::npos);
    CHECK(e.find("the last good checkpoint '" + good + "' is untouched") != std::string::npos);
  }
  // Works as root too: the checkpoints path is a file, so no folder can be made there.
  const std::string other = scratch_dir("ck_notdir");
  Trainer u(c, other);
  write_bytes((fs::path(other) / "checkpoints").string(), "not a folder");
  std::string e = error_of([&] { u.save_checkpoint(); });
  CHECK(e.find("cannot create checkpoint folder '" + (fs::path(other) / "checkpoints").string() + "'") !=
        std::string::npos);
  CHECK(e.find("there is no earlier checkpoint") != std::string::npos);
  CHECK(read_bytes(good) == good_bytes);
  fs::remove_all(dir);
  fs::remove_all(other);
}

TEST_CASE("a full disk (RLIMIT_FSIZE) while checkpointing: clear error, last good checkpoint kept, run() throws",
          "[reliability]") {
  const std::string dir = scratch_dir("ck_full");
  TrainConfig c = tiny_config();
  c.steps = 6;
  c.checkpoint_every = 3;
  c.log_every = 1000;
  Trainer t(c, dir);
  t.train_step();
  const std::string good = t.save_checkpoint();
  const std::string good_bytes = read_bytes(good);
  REQUIRE(good_bytes.size() > 2048);
  std::string e;
  {
    FileSizeLimit limit(1024);  // smaller than any checkpoint
    e = error_of([&] { t.run(); });
  }
  INFO(e);
  CHECK(e.find("cannot write checkpoint at step 3") != std::string::npos);
  CHECK(e.find(checkpoint_path(dir, 3)) != std::string::npos);
  CHECK(e.find("File too large") != std::string::npos);
  CHECK(e.find("the last good checkpoint '" + good + "' is untouched") != std::string::npos);
  CHECK(read_bytes(good) == good_bytes);
  CHECK_FALSE(fs::exists(checkpoint_path(dir, 3)));
  CHECK_FALSE(has_temp_files(dir));
  CHECK(Trainer::resume(dir)->step() == 1);
  fs::remove_all(dir);
}
