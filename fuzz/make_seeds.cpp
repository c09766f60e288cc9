// fuzz/make_seeds.cpp — writes the fuzzers' starting corpus, one folder per target, with Ganglion's own writers
// where it has them (safetensors, checkpoints, the config's JSON form) and stb_image_write for the images, so no
// binary seed files are kept in the repository. Usage: fuzz_make_seeds <out_dir>.
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stb_image_write.h>
#include <string>
#include <vector>

#include "core/safetensors.h"
#include "gan/checkpoint.h"
#include "gan/config.h"
#include "gan/models2d.h"
#include "layers/optim.h"

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;
using namespace ganglion;

namespace {

void write(const fs::path& p, const Bytes& b) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  if (!f) throw Error("make_seeds: cannot write " + p.string());
}

Bytes read(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), {});
}

Bytes gzip(const Bytes& in) {
  z_stream zs{};
  if (deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw Error("make_seeds: deflate");
  Bytes out(deflateBound(&zs, in.size()) + 32);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) throw Error("make_seeds: deflate did not finish");
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

void be32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}

// Options byte, 16-bit label length, labels, images: the layout fuzz_idx.cpp reads.
Bytes idx_input(uint8_t opt, const Bytes& labels, const Bytes& images) {
  Bytes b{opt, static_cast<uint8_t>(labels.size()), static_cast<uint8_t>(labels.size() >> 8)};
  b.insert(b.end(), labels.begin(), labels.end());
  b.insert(b.end(), images.begin(), images.end());
  return b;
}

void idx_seeds(const fs::path& dir) {
  const uint32_t n = 3, h = 6, w = 5;
  Bytes images, labels;
  be32(images, 0x803), be32(images, n), be32(images, h), be32(images, w);
  for (uint32_t i = 0; i < n * h * w; ++i) images.push_back(static_cast<uint8_t>(i * 37));
  be32(labels, 0x801), be32(labels, n);
  for (uint32_t i = 0; i < n; ++i) labels.push_back(static_cast<uint8_t>(i + 7));
  write(dir / "plain", idx_input(1, labels, images));
  write(dir / "gzip", idx_input(1 | 2, gzip(labels), gzip(images)));
  write(dir / "no_labels_limit", idx_input(8, {}, images));
  Bytes two = gzip(images), second = gzip(labels);  // two gzip members one after the other
  two.insert(two.end(), second.begin(), second.end());
  write(dir / "two_members", idx_input(0, {}, two));
}

void cifar_seeds(const fs::path& dir) {
  Bytes batch{1};  // options: output size 16
  for (int r = 0; r < 2; ++r) {
    batch.push_back(static_cast<uint8_t>(3 + r));
    for (int i = 0; i < 3072; ++i) batch.push_back(static_cast<uint8_t>(i * 7 + r));
  }
  write(dir / "plain", batch);
  Bytes gz{4};
  Bytes gzipped = gzip(Bytes(batch.begin() + 1, batch.end()));
  gz.insert(gz.end(), gzipped.begin(), gzipped.end());
  write(dir / "gzip", gz);
}

void image_seeds(const fs::path& dir, const fs::path& scratch) {
  const int w = 7, h = 5;
  for (int comp : {1, 3}) {
    std::vector<unsigned char> px(static_cast<size_t>(w * h * comp));
    for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<unsigned char>(i * 29);
    const uint8_t opt = comp == 3 ? 1 : 0;
    const std::string tag = std::to_string(comp);
    const fs::path f = scratch / "img";
    auto keep = [&](const std::string& name) {
      Bytes b{opt};
      Bytes file = read(f);
      b.insert(b.end(), file.begin(), file.end());
      write(dir / (name + tag), b);
    };
    if (!stbi_write_png(f.c_str(), w, h, comp, px.data(), w * comp)) throw Error("make_seeds: png");
    keep("png");
    if (!stbi_write_bmp(f.c_str(), w, h, comp, px.data())) throw Error("make_seeds: bmp");
    keep("bmp");
    if (!stbi_write_jpg(f.c_str(), w, h, comp, px.data(), 80)) throw Error("make_seeds: jpg");
    keep("jpg");
  }
}

// A file with every dtype the reader converts (F16, BF16, F64, I64), written by hand: the writer only makes F32/I32.
Bytes converted_dtypes_file() {
  const std::string header =
      R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[1,2],"data_offsets":[4,8]},)"
      R"("c":{"dtype":"F64","shape":[1],"data_offsets":[8,16]},"d":{"dtype":"I64","shape":[1],"data_offsets":[16,24]},)"
      R"("e":{"dtype":"F32","shape":[0,3],"data_offsets":[24,24]},"__metadata__":{"k":"v"}})";
  Bytes b;
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(header.size() >> (8 * i)));
  b.insert(b.end(), header.begin(), header.end());
  const uint8_t data[24] = {0x00, 0x3c, 0x01, 0x80, 0x80, 0x3f, 0x00, 0xc0,  // F16 1, -tiny; BF16 1, -2
                            0, 0, 0, 0, 0, 0, 0xf0, 0x3f,                    // F64 1.0
                            0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};  // I64 -2
  b.insert(b.end(), data, data + 24);
  return b;
}

void safetensors_seeds(const fs::path& dir) {
  TensorMap t;
  t["weight"] = from_vector({0.5f, -1.f, 2.f, 0.f, 3.25f, -0.125f}, {2, 3});
  t["bias"] = zeros({3});
  save_safetensors((dir / "f32").string(), t, {{"format", "pt"}});
  write(dir / "converted", converted_dtypes_file());
}

void config_seeds(const fs::path& dir) {
  for (const std::string& name : preset_names()) {
    std::ofstream(dir / name) << to_json(preset_config(name)).dump(1);
  }
  std::ofstream(dir / "preset_only") << R"({"preset": "dcgan-mnist", "steps": 10, "image": {"nz": 8}})";
}

void checkpoint_seeds(const fs::path& dir) {
  TrainConfig c;
  c.mlp.g_hidden = c.mlp.d_hidden = 2;
  c.mlp.g_layers = c.mlp.d_layers = 1;
  Generator g(1);
  auto gen = make_generator2d(c.mlp, g);
  auto critic = make_critic2d(c.mlp, g);
  Adam opt_g(gen->parameters()), opt_d(critic->parameters());
  Generator noise(2);
  save_checkpoint((dir / "small").string(), c, 7, CheckpointParts{.g = gen.get(), .d = critic.get(), .opt_g = &opt_g,
                                                                   .opt_d = &opt_d, .rng = &noise});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <out_dir>\n", argv[0]);
    return 2;
  }
  try {
    const fs::path out = argv[1];
    for (const char* t : {"idx", "cifar10", "image", "safetensors", "config", "checkpoint"})
      fs::create_directories(out / t);
    idx_seeds(out / "idx");
    cifar_seeds(out / "cifar10");
    image_seeds(out / "image", out);
    fs::remove(out / "img");
    safetensors_seeds(out / "safetensors");
    config_seeds(out / "config");
    checkpoint_seeds(out / "checkpoint");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_make_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
