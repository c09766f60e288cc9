// tests/test_fuzz_regressions.cpp — what fuzzing the readers of outside data found (fuzz/, scripts/fuzz.sh), kept
// as tests: every file under tests/fuzz_regressions/<reader>/ must be refused with a ganglion::Error naming the
// file (those under tests/fuzz_accepted/<reader>/ must decode, sanitizer-clean), and the inline cases below pin each fix
// (sizes checked before allocating, no infinite or wrapped numbers, no deep recursion on nested JSON) and that
// the in-memory readers are the path readers' code path.
#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <stb_image_write.h>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "gan/checkpoint.h"
#include "gan/config.h"
#include "gan/image_data.h"
#include "test_util.h"

using namespace ganglion;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

const fs::path kRegressions = fs::path(GANGLION_TEST_DATA) / ".." / ".." / "fuzz_regressions";
const fs::path kAccepted = fs::path(GANGLION_TEST_DATA) / ".." / ".." / "fuzz_accepted";

// Every kept input under root/<reader>/, as (reader, file).
std::vector<std::pair<std::string, fs::path>> kept_inputs(const fs::path& root) {
  std::vector<std::pair<std::string, fs::path>> out;
  for (const auto& dir : fs::directory_iterator(root))
    if (dir.is_directory())
      for (const auto& f : fs::directory_iterator(dir.path()))
        out.emplace_back(dir.path().filename().string(), f.path());
  return out;
}

std::vector<uint8_t> file_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

std::vector<uint8_t> gzip(const std::vector<uint8_t>& in) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::vector<uint8_t> out(deflateBound(&zs, in.size()) + 32);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A scratch file under the temp dir, removed at the end of the test.
struct ScratchFile {
  fs::path path;
  explicit ScratchFile(const std::string& name, const std::string& bytes) {
    path = fs::temp_directory_path() / ("ganglion_fuzzreg_" + std::to_string(::getpid()) + "_" + name);
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  ~ScratchFile() {
    std::error_code ec;
    fs::remove(path, ec);
  }
};

std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}

std::string safetensors_bytes(const std::string& header, const std::string& data) {
  return le64(header.size()) + header + data;
}

// A 54-byte BMP header (24-bit) claiming w x h pixels, with no pixel data after it.
std::string bmp_header(uint32_t w, uint32_t h) {
  std::string b = "BM";
  auto u32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<char>(v >> (8 * i)));
  };
  auto u16 = [&](uint16_t v) {
    for (int i = 0; i < 2; ++i) b.push_back(static_cast<char>(v >> (8 * i)));
  };
  u32(54), u32(0), u32(54);           // file size, reserved, pixel data offset
  u32(40), u32(w), u32(h), u16(1), u16(24), u32(0), u32(0), u32(2835), u32(2835), u32(0), u32(0);
  return b;
}

// Runs the path reader for a regressions subfolder on one kept input.
void read_with(const std::string& reader, const fs::path& p) {
  const std::string path = p.string();
  if (reader == "idx") load_mnist(path, "");
  else if (reader == "cifar10") load_cifar10(path);
  else if (reader == "image") decode_image(file_bytes(p), path, 28, 3);
  else if (reader == "safetensors") load_safetensors(path);
  else if (reader == "config") load_config_file(path);
  else if (reader == "checkpoint") read_checkpoint(path);
  else FAIL("tests/fuzz_regressions/" << reader << ": no reader of that name");
}

}  // namespace

TEST_CASE("fuzz regressions: every kept input is refused with an Error naming the file", "[fuzz]") {
  REQUIRE(fs::is_directory(kRegressions));
  const auto inputs = kept_inputs(kRegressions);
  for (const auto& [reader, file] : inputs) {
    INFO(file.string());
    try {
      read_with(reader, file);
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK_THAT(e.what(), Contains(file.filename().string()));
    }
  }
  CHECK(!inputs.empty());
}

// tests/fuzz_accepted/<reader>/: inputs a reader accepts (corrupt data decoding to garbage pixels) that
// once tripped a sanitizer inside the reader. Under scripts/sanitize.sh (CI's second stage) they must run with no
// undefined behaviour and no bad memory access; everywhere they must give a tensor of the asked shape.
TEST_CASE("fuzz regressions: kept inputs that decode do so cleanly", "[fuzz]") {
  REQUIRE(fs::is_directory(kAccepted));
  const auto inputs = kept_inputs(kAccepted);
  for (const auto& [reader, file] : inputs) {
    INFO(file.string());
    REQUIRE(reader == "image");  // the only reader with accepted inputs so far
    for (int64_t channels : {1, 3}) {
      const Tensor t = decode_image(file_bytes(file), file.string(), 28, channels);
      CHECK(t.shape() == Shape{1, channels, 28, 28});
    }
  }
  CHECK(!inputs.empty());
}

TEST_CASE("fuzz regressions: safetensors sizes that overflow are refused before allocating", "[fuzz]") {
  // 2^61 F64 elements is 2^64 bytes: the byte count wrapped to 0 and matched data_offsets [0, 0].
  const std::string wrap = safetensors_bytes(R"({"x":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}})", "");
  CHECK_THROWS_WITH(load_safetensors_from_memory(wrap.data(), wrap.size(), "wrap.st"), Contains("too large"));
  // An empty tensor whose other sizes multiply past int64 (strides would overflow).
  const std::string empty = safetensors_bytes(
      R"({"x":{"dtype":"F32","shape":[0,4611686018427387904,4611686018427387904],"data_offsets":[0,0]}})", "");
  CHECK_THROWS_WITH(load_safetensors_from_memory(empty.data(), empty.size(), "empty.st"), Contains("too large"));
  // A deeply nested shape entry is described, not dumped.
  const std::string nested = safetensors_bytes(
      R"({"x":{"dtype":"F32","shape":[)" + std::string(100000, '[') + std::string(100000, ']') +
          R"(],"data_offsets":[0,0]}})", "");
  CHECK_THROWS_WITH(load_safetensors_from_memory(nested.data(), nested.size(), "nested.st"), Contains("an array"));
}

TEST_CASE("fuzz regressions: safetensors from memory and from a file give the same tensors", "[fuzz]") {
  const std::string data("\x00\x00\x80\x3f\x00\x00\x00\xc0\x00\x3c", 10);  // F32 1, -2; F16 1
  const std::string bytes = safetensors_bytes(
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[1],"data_offsets":[8,10]},)"
      R"("__metadata__":{"k":"v"}})", data);
  ScratchFile f("same.safetensors", bytes);
  std::map<std::string, std::string> meta_file, meta_mem;
  TensorMap from_file = load_safetensors(f.path.string(), &meta_file);
  TensorMap from_mem = load_safetensors_from_memory(bytes.data(), bytes.size(), "mem", &meta_mem);
  CHECK(meta_file == meta_mem);
  CHECK(meta_mem.at("k") == "v");
  REQUIRE(from_mem.size() == 2);
  CHECK(from_mem.at("a").to_vector() == std::vector<float>{1.f, -2.f});
  CHECK(from_file.at("a").to_vector() == from_mem.at("a").to_vector());
  CHECK(from_mem.at("b").to_vector() == std::vector<float>{1.f});
  // Truncation reads the same from both.
  const std::string cut = bytes.substr(0, bytes.size() - 1);
  CHECK_THROWS_WITH(load_safetensors_from_memory(cut.data(), cut.size(), "cut"), Contains("cut"));
}

TEST_CASE("fuzz regressions: config numbers out of range and nested values are clear errors", "[fuzz]") {
  // A double beyond float's range became an infinite learning rate, which passed validation.
  CHECK_THROWS_WITH(parse_config_text(R"({"lr_g": 1e300})", "cfg.json"),
                    Contains("cfg.json") && Contains("lr_g") && Contains("out of range"));
  CHECK_THROWS_WITH(parse_config_text(R"({"mlp": {"g_output_scale": -1e39}})", "cfg.json"), Contains("out of range"));
  // An unsigned integer beyond int64 used to wrap to a negative number.
  CHECK_THROWS_WITH(parse_config_text(R"({"batch": 9223372036854775808})", "cfg.json"),
                    Contains("batch") && Contains("out of range"));
  // ...while a uint64 seed above 2^63 is valid (it was refused as negative).
  CHECK(parse_config_text(R"({"seed": 9223372036854775809})", "cfg.json").seed == 9223372036854775809ull);
  // A value nested 200000 deep: the error message used to dump it, recursing once per level.
  const std::string deep = R"({"batch": )" + std::string(200000, '[') + std::string(200000, ']') + "}";
  CHECK_THROWS_WITH(parse_config_text(deep, "deep.json"), Contains("expected a number") && Contains("an array"));
  // A value that is a huge string is cut short in the message.
  const std::string long_value = R"({"batch": ")" + std::string(100000, 'x') + R"("})";
  try {
    parse_config_text(long_value, "long.json");
    FAIL("accepted");
  } catch (const Error& e) {
    CHECK(std::strlen(e.what()) < 200);
  }
}

TEST_CASE("fuzz regressions: an image header promising too many pixels is refused before decoding", "[fuzz]") {
  // 16000 x 16000 with no pixel data: stb_image would allocate 768 MB and fill it from the missing data.
  const std::string big = bmp_header(16000, 16000);
  CHECK_THROWS_WITH(decode_image(as_bytes(big), "big.bmp", 28, 3), Contains("big.bmp") && Contains("larger than"));
  // A valid JPEG (written by stb_image_write) still decodes through the Huffman-table guard.
  std::vector<uint8_t> jpeg;
  std::vector<unsigned char> px(9 * 6 * 3);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<unsigned char>(i * 11);
  auto append = [](void* ctx, void* data, int n) {
    auto* out = static_cast<std::vector<uint8_t>*>(ctx);
    out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + n);
  };
  REQUIRE(stbi_write_jpg_to_func(append, &jpeg, 9, 6, 3, px.data(), 90));
  CHECK(decode_image(jpeg, "ok.jpg", 4, 3).shape() == Shape{1, 3, 4, 4});
  // Formats the folder reader does not accept are not decoded either (a GIF header).
  CHECK_THROWS_WITH(decode_image(as_bytes(std::string("GIF89a\x01\x00\x01\x00\x00\x00\x00", 13)), "a.gif", 28, 3),
                    Contains("a.gif") && Contains("cannot decode"));
}

TEST_CASE("fuzz regressions: gzip IDX in memory (members, truncation, corruption)", "[fuzz]") {
  // One 2x2 image, gzip-compressed as two members (the header, then the pixels), as gzread reads them.
  const std::vector<uint8_t> header = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2}, pixels = {0, 255, 51, 255};
  std::vector<uint8_t> gz = gzip(header);
  const std::vector<uint8_t> second = gzip(pixels);
  gz.insert(gz.end(), second.begin(), second.end());
  ImageDataset ds = parse_mnist(gz, "two.gz", std::nullopt, "", 2);
  REQUIRE(ds.images.shape() == Shape{1, 1, 2, 2});
  CHECK(ds.images.to_vector() == std::vector<float>{-1.f, 1.f, 51 / 127.5f - 1.f, 1.f});
  const std::vector<uint8_t> one = gzip(header);
  const std::vector<uint8_t> cut(one.begin(), one.end() - 6);
  CHECK_THROWS_WITH(parse_mnist(cut, "cut.gz", std::nullopt, ""), Contains("cut.gz") && Contains("truncated gzip"));
  std::vector<uint8_t> bad = one;
  bad[10] = 0xff;  // the first deflate block header: an invalid block type
  CHECK_THROWS_WITH(parse_mnist(bad, "bad.gz", std::nullopt, ""), Contains("bad.gz") && Contains("corrupt gzip"));
}
