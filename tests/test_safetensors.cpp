// tests/test_safetensors.cpp — core/safetensors: round trips, metadata, dtype conversions, the byte layout the
// Python package expects, every malformed-file error, and atomic writes that leave the old file in place.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_util.h"

using namespace ganglion;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

// A fresh, empty directory under the system temp dir, removed (made writable first) when the test ends.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("ganglion_st_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
  static int& counter() {
    static int c = 0;
    return c;
  }
};

std::string read_bytes(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}

// A file with this JSON header (padded to 8 bytes) followed by `data`.
std::string st_file(std::string header, const std::string& data) {
  header.append((8 - header.size() % 8) % 8, ' ');
  return le64(header.size()) + header + data;
}

template <class T>
std::string raw(std::initializer_list<T> vals) {
  std::string s;
  for (T v : vals) s.append(reinterpret_cast<const char*>(&v), sizeof(T));
  return s;
}

// Loading `bytes` (written to a temp file) must fail with an Error naming the file and containing `what`.
void expect_load_error(const std::string& bytes, const std::string& what) {
  TempDir d;
  std::string p = d.file("bad.safetensors");
  write_bytes(p, bytes);
  INFO("expecting an error containing '" << what << "'");
  REQUIRE_THROWS_AS(load_safetensors(p), Error);
  REQUIRE_THROWS_WITH(load_safetensors(p), Contains(p) && Contains(what));
}

std::vector<std::string> leftovers(const TempDir& d, const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(d.path))
    if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path().filename().string());
  return out;
}

// The Error message of save_safetensors(path, m), or "" when it succeeds. Root ignores directory permissions, so
// under root the save runs in a forked child that first drops to the 'nobody' user (65534).
std::string save_error_as_other_user(const std::string& path, const TensorMap& m) {
  if (::geteuid() != 0) {
    try {
      save_safetensors(path, m);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    std::string msg = "child: could not drop privileges";
    if (::setgid(65534) == 0 && ::setuid(65534) == 0) {
      try {
        save_safetensors(path, m);
        msg = "";
      } catch (const std::exception& e) {
        msg = e.what();
      }
    }
    ssize_t w = ::write(fds[1], msg.data(), msg.size());
    (void)w;
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string msg;
  char buf[512];
  ssize_t r;
  while ((r = ::read(fds[0], buf, sizeof buf)) > 0) msg.append(buf, static_cast<size_t>(r));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return msg;
}

TensorMap sample_tensors() {
  TensorMap m;
  m["weight"] = gtest::rnd({3, 4}, 1);
  m["bias"] = gtest::rnd({4}, 2);
  m["scalar"] = scalar_tensor(-2.5f);
  m["empty"] = zeros({0, 3});
  Tensor idx = Tensor::empty({5}, Device::cpu(), DType::I32);
  for (int i = 0; i < 5; ++i) idx.data_i32()[i] = (i - 2) * 1000003;
  m["index"] = idx;
  return m;
}

void require_same(const TensorMap& a, const TensorMap& b) {
  REQUIRE(a.size() == b.size());
  for (const auto& [k, t] : a) {
    INFO("tensor " << k);
    REQUIRE(b.count(k) == 1);
    const Tensor& u = b.at(k);
    REQUIRE(u.shape() == t.shape());
    REQUIRE(u.dtype() == t.dtype());
    REQUIRE(u.device().is_cpu());
    size_t bytes = static_cast<size_t>(t.numel()) * dtype_size(t.dtype());
    if (bytes) REQUIRE(std::memcmp(u.data(), t.data(), bytes) == 0);
  }
}

}  // namespace

TEST_CASE("safetensors: round trip of F32 and I32 tensors, scalars and empty tensors", "[safetensors]") {
  TempDir d;
  std::string p = d.file("m.safetensors");
  TensorMap m = sample_tensors();
  save_safetensors(p, m);
  require_same(m, load_safetensors(p));
  std::map<std::string, std::string> meta{{"stale", "x"}};
  load_safetensors(p, &meta);
  CHECK(meta.empty());  // cleared, and a file without "__metadata__" gives none
  CHECK(leftovers(d, "m.safetensors.tmp").empty());
}

TEST_CASE("safetensors: metadata round trip and an empty map", "[safetensors]") {
  TempDir d;
  std::string p = d.file("meta.safetensors");
  std::map<std::string, std::string> meta{{"step", "1200"}, {"config", "{\"lr\": 2e-4}"}, {"note", "ünïcode ok"}};
  save_safetensors(p, {{"a", ones({2})}}, meta);
  std::map<std::string, std::string> back;
  TensorMap m = load_safetensors(p, &back);
  CHECK(back == meta);
  CHECK(m.at("a").to_vector() == std::vector<float>{1.f, 1.f});

  save_safetensors(p, {});
  CHECK(load_safetensors(p).empty());
}

TEST_CASE("safetensors: the byte layout is the format's (header length, padded JSON, packed data)", "[safetensors]") {
  TempDir d;
  std::string p = d.file("layout.safetensors");
  save_safetensors(p, {{"b", from_vector({1, 2, 3}, {3})}, {"a", from_vector({4, 5}, {1, 2})}}, {{"k", "v"}});
  std::string bytes = read_bytes(p);
  REQUIRE(bytes.size() >= 8);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  CHECK(n % 8 == 0);
  REQUIRE(8 + n + 20 == bytes.size());
  auto h = nlohmann::json::parse(bytes.substr(8, n));
  CHECK(h["a"]["dtype"] == "F32");
  CHECK(h["a"]["shape"] == nlohmann::json::array({1, 2}));
  CHECK(h["b"]["shape"] == nlohmann::json::array({3}));
  CHECK(h["__metadata__"]["k"] == "v");
  // Offsets are relative to the data section, tile it exactly, and hold little-endian floats.
  uint64_t a0 = h["a"]["data_offsets"][0], a1 = h["a"]["data_offsets"][1];
  uint64_t b0 = h["b"]["data_offsets"][0], b1 = h["b"]["data_offsets"][1];
  CHECK(a1 - a0 == 8);
  CHECK(b1 - b0 == 12);
  CHECK(std::min(a0, b0) == 0);
  CHECK(std::max(a1, b1) == 20);
  float v;
  std::memcpy(&v, bytes.data() + 8 + n + b0 + 8, 4);
  CHECK(v == 3.f);
}

TEST_CASE("safetensors: files written by Python's writer load (golden data)", "[safetensors]") {
  std::map<std::string, std::string> meta;
  TensorMap m = load_safetensors(gtest::golden_path("op_add_general.safetensors"), &meta);
  CHECK(meta.at("op") == "add");
  REQUIRE(m.count("a") == 1);
  CHECK(m.at("a").shape() == Shape{3, 1, 5});
  CHECK(m.at("out").shape() == Shape{3, 4, 5});
}

TEST_CASE("safetensors: F64, F16, BF16 convert to F32 and I64 to I32", "[safetensors]") {
  TempDir d;
  std::string p = d.file("conv.safetensors");
  std::string data = raw<double>({1.5, -2.25e-3}) +                              // 0..16
                     raw<uint16_t>({0x3C00, 0xC000, 0x3800, 0x0001, 0x7BFF}) +  // 16..26 F16
                     raw<uint16_t>({0x3F80, 0xC040, 0x0000}) +                  // 26..32 BF16
                     raw<int64_t>({-7, 2147483647, -2147483648LL});              // 32..56
  write_bytes(p, st_file(R"({"d":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},)"
                         R"("h":{"dtype":"F16","shape":[5],"data_offsets":[16,26]},)"
                         R"("bf":{"dtype":"BF16","shape":[3],"data_offsets":[26,32]},)"
                         R"("i":{"dtype":"I64","shape":[3],"data_offsets":[32,56]}})",
                         data));
  TensorMap m = load_safetensors(p);
  CHECK(m.at("d").dtype() == DType::F32);
  CHECK(m.at("d").to_vector() == std::vector<float>{1.5f, -2.25e-3f});
  CHECK(m.at("h").to_vector() == std::vector<float>{1.f, -2.f, 0.5f, std::ldexp(1.f, -24), 65504.f});
  CHECK(m.at("bf").to_vector() == std::vector<float>{1.f, -3.f, 0.f});
  REQUIRE(m.at("i").dtype() == DType::I32);
  const int32_t* iv = m.at("i").data_i32();
  CHECK(iv[0] == -7);
  CHECK(iv[1] == 2147483647);
  CHECK(iv[2] == -2147483647 - 1);
}

TEST_CASE("safetensors: F16 infinities and NaN survive conversion", "[safetensors]") {
  TempDir d;
  std::string p = d.file("inf.safetensors");
  write_bytes(p, st_file(R"({"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]}})",
                         raw<uint16_t>({0x7C00, 0xFC00, 0x7E00})));
  std::vector<float> v = load_safetensors(p).at("h").to_vector();
  CHECK(std::isinf(v[0]));
  CHECK(v[0] > 0);
  CHECK(std::isinf(v[1]));
  CHECK(v[1] < 0);
  CHECK(std::isnan(v[2]));
}

TEST_CASE("safetensors: missing, empty and truncated files", "[safetensors][errors]") {
  TempDir d;
  std::string missing = d.file("nope.safetensors");
  REQUIRE_THROWS_WITH(load_safetensors(missing), Contains(missing) && Contains("No such file"));
  REQUIRE_THROWS_WITH(load_safetensors(d.path.string()), Contains(d.path.string()));  // a directory
  expect_load_error("", "truncated");
  expect_load_error("abc", "truncated");
  std::string good = st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", raw<float>({1, 2}));
  expect_load_error(good.substr(0, 20), "header length");            // cut inside the header
  expect_load_error(good.substr(0, good.size() - 3), "data_offsets");  // cut inside the data
}

TEST_CASE("safetensors: bad header length and bad JSON", "[safetensors][errors]") {
  std::string body = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  expect_load_error(le64(1000) + body + raw<float>({1}), "header length");
  expect_load_error(le64(~0ull) + body, "header length");
  expect_load_error(le64(0) + body, "header length");
  expect_load_error(st_file(R"({"a":{"dtype":"F32",)", raw<float>({1})), "bad JSON");
  expect_load_error(st_file(R"(not json at all)", ""), "bad JSON");
  expect_load_error(st_file(R"([1,2,3])", ""), "not an object");
  expect_load_error(st_file(R"({"a":[0,4]})", raw<float>({1})), "'a'");
}

TEST_CASE("safetensors: bad entries: dtype, shape, offsets", "[safetensors][errors]") {
  auto one = [](const std::string& entry, const std::string& data) { return st_file("{\"t\":" + entry + "}", data); };
  std::string f4 = raw<float>({1, 2, 3, 4});
  expect_load_error(one(R"({"dtype":"U8","shape":[4],"data_offsets":[0,4]})", "abcd"), "dtype 'U8'");
  expect_load_error(one(R"({"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]})", "abcd"), "F8_E4M3");
  expect_load_error(one(R"({"shape":[4],"data_offsets":[0,16]})", f4), "dtype");
  expect_load_error(one(R"({"dtype":7,"shape":[4],"data_offsets":[0,16]})", f4), "dtype");
  expect_load_error(one(R"({"dtype":"F32","data_offsets":[0,16]})", f4), "shape");
  expect_load_error(one(R"({"dtype":"F32","shape":[-4],"data_offsets":[0,16]})", f4), "shape");
  expect_load_error(one(R"({"dtype":"F32","shape":[2.5],"data_offsets":[0,16]})", f4), "shape");
  expect_load_error(one(R"({"dtype":"F32","shape":[4]})", f4), "data_offsets");
  expect_load_error(one(R"({"dtype":"F32","shape":[4],"data_offsets":[0]})", f4), "data_offsets");
  expect_load_error(one(R"({"dtype":"F32","shape":[4],"data_offsets":[16,0]})", f4), "end before begin");
  expect_load_error(one(R"({"dtype":"F32","shape":[3],"data_offsets":[0,16]})", f4), "needs 12");
  expect_load_error(one(R"({"dtype":"F32","shape":[8],"data_offsets":[0,32]})", f4), "past the data section");
  expect_load_error(one(R"({"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,16]})", f4),
                    "too large");
}

TEST_CASE("safetensors: overlapping offsets, holes and trailing bytes", "[safetensors][errors]") {
  std::string f4 = raw<float>({1, 2, 3, 4});
  expect_load_error(st_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
                            R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                            f4),
                    "overlap");
  expect_load_error(st_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                            R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                            f4),
                    "hole");
  expect_load_error(st_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})", f4), "cover");
}

TEST_CASE("safetensors: bad metadata and out-of-range I64", "[safetensors][errors]") {
  expect_load_error(st_file(R"({"__metadata__":{"step":12}})", ""), "'step'");
  expect_load_error(st_file(R"({"__metadata__":["a"]})", ""), "__metadata__");
  expect_load_error(st_file(R"({"i":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}})",
                            raw<int64_t>({1, int64_t(1) << 40})),
                    "int32");
}

TEST_CASE("safetensors: invalid arguments to save", "[safetensors][errors]") {
  TempDir d;
  REQUIRE_THROWS_AS(save_safetensors("", {{"a", ones({1})}}), Error);
  REQUIRE_THROWS_WITH(save_safetensors(d.file("u.safetensors"), {{"a", Tensor()}}), Contains("'a'"));
  REQUIRE_THROWS_AS(save_safetensors(d.file("m.safetensors"), {{"__metadata__", ones({1})}}), Error);
  REQUIRE_THROWS_WITH(save_safetensors(d.file("b.safetensors"), {{"a", ones({1})}}, {{"k", "bad \xff utf-8"}}),
                      Contains("b.safetensors") && Contains("UTF-8"));
  REQUIRE_THROWS_AS(save_safetensors(d.file("c.safetensors"), {{"\xc3", ones({1})}}), Error);
  CHECK(leftovers(d, "").empty());
}

TEST_CASE("safetensors: a failed save leaves the old file and no temporary", "[safetensors][atomic]") {
  TempDir d;
  std::string p = d.file("ckpt.safetensors");
  TensorMap old_m{{"w", gtest::rnd({8, 8}, 3)}};
  save_safetensors(p, old_m, {{"step", "1"}});
  const std::string old_bytes = read_bytes(p);
  TensorMap big{{"w", gtest::rnd({64, 64}, 4)}};

  SECTION("target directory does not exist") {
    std::string bad = d.file("no_such_dir/ckpt.safetensors");
    REQUIRE_THROWS_WITH(save_safetensors(bad, big), Contains(bad) && Contains("No such file"));
  }
  SECTION("target path is a directory") {
    fs::create_directories(d.path / "adir" / "inside");
    std::string bad = d.file("adir");
    REQUIRE_THROWS_WITH(save_safetensors(bad, big), Contains(bad) && Contains("rename"));
    CHECK(fs::is_directory(d.path / "adir" / "inside"));
  }
  SECTION("the file system refuses the data (file size limit, as a full disk would)") {
    // RLIMIT_FSIZE makes write() fail with EFBIG part-way, like ENOSPC; SIGXFSZ is ignored meanwhile.
    struct Restore {
      rlimit lim{};
      void (*prev)(int) = nullptr;
      Restore() {
        getrlimit(RLIMIT_FSIZE, &lim);
        prev = signal(SIGXFSZ, SIG_IGN);
      }
      ~Restore() {
        setrlimit(RLIMIT_FSIZE, &lim);
        signal(SIGXFSZ, prev);
      }
    } restore;
    rlimit small = restore.lim;
    small.rlim_cur = 4096;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
    REQUIRE_THROWS_WITH(save_safetensors(p, big), Contains(p) && Contains(std::strerror(EFBIG)));
  }
  SECTION("target directory is read-only") {
    fs::permissions(d.path, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::others_read |
                                fs::perms::others_exec, fs::perm_options::replace);
    std::string msg = save_error_as_other_user(p, big);
    fs::permissions(d.path, fs::perms::owner_all, fs::perm_options::replace);
    CHECK_THAT(msg, Contains(p) && Contains("Permission denied"));
  }
  CHECK(read_bytes(p) == old_bytes);
  std::map<std::string, std::string> meta;
  require_same(old_m, load_safetensors(p, &meta));
  CHECK(meta.at("step") == "1");
  CHECK(leftovers(d, "ckpt.safetensors.tmp").empty());
  CHECK(leftovers(d, "adir.tmp").empty());
}

TEST_CASE("safetensors: a successful save replaces the old file", "[safetensors][atomic]") {
  TempDir d;
  std::string p = d.file("x.safetensors");
  save_safetensors(p, {{"a", ones({2})}});
  save_safetensors(p, {{"b", zeros({3})}});
  TensorMap m = load_safetensors(p);
  CHECK(m.count("a") == 0);
  CHECK(m.at("b").shape() == Shape{3});
  CHECK(leftovers(d, "x.safetensors.tmp").empty());
}

TEST_CASE("safetensors: CUDA tensors are copied to the host", "[safetensors][cuda]") {
  std::string why;
  if (!cuda_available(&why)) {
    WARN("CUDA not available (" << why << "): skipped");
    return;
  }
  TempDir d;
  std::string p = d.file("gpu.safetensors");
  Tensor h = gtest::rnd({5, 7}, 9);
  save_safetensors(p, {{"g", h.to(Device::cuda())}});
  CHECK(load_safetensors(p).at("g").to_vector() == h.to_vector());
}
