// tests/mnist_test_data.h — tiny MNIST-style IDX files written by the tests themselves (never real MNIST):
// n images of 28x28 whose pixel (i, y, x) = (i*7 + y + x) % 256 and labels i % 10, gzip or plain, optionally
// truncated to test the loaders' errors.
#pragma once
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <vector>

namespace gtest {

inline void put_be32(std::vector<uint8_t>& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}

// Writes dir/train-images-idx3-ubyte[.gz] and dir/train-labels-idx1-ubyte[.gz]; truncate_to > 0 cuts the image file.
inline void write_mnist(const std::filesystem::path& dir, int n, bool gz, size_t truncate_to = 0) {
  std::vector<uint8_t> img, lab;
  put_be32(img, 0x803), put_be32(img, n), put_be32(img, 28), put_be32(img, 28);
  for (int i = 0; i < n; ++i)
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x) img.push_back(static_cast<uint8_t>((i * 7 + y + x) % 256));
  put_be32(lab, 0x801), put_be32(lab, n);
  for (int i = 0; i < n; ++i) lab.push_back(static_cast<uint8_t>(i % 10));
  if (truncate_to) img.resize(truncate_to);
  auto write = [gz](const std::filesystem::path& p, const std::vector<uint8_t>& b) {
    if (gz) {
      gzFile f = gzopen((p.string() + ".gz").c_str(), "wb");
      gzwrite(f, b.data(), static_cast<unsigned>(b.size()));
      gzclose(f);
    } else {
      std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<long>(b.size()));
    }
  };
  write(dir / "train-images-idx3-ubyte", img);
  write(dir / "train-labels-idx1-ubyte", lab);
}

}  // namespace gtest
