// tests/test_gan_image_data.cpp — image datasets on small files made here: MNIST IDX (plain and gzip), truncated
// and wrong-magic files, CIFAR-10 records, a PNG folder, stacked MNIST, bilinear resize, and the batcher's
// determinism and restorable position.
#include <catch2/catch.hpp>
#include <stb_image_write.h>
#include <zlib.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/ops.h"
#include "gan/image_data.h"
#include "mnist_test_data.h"

using namespace ganglion;
using gtest::write_mnist;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("ganglion_imgdata_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

}  // namespace

TEST_CASE("image data: MNIST IDX, gzip and plain, scaled to [-1, 1]", "[gan][data]") {
  for (bool gz : {true, false}) {
    fs::path d = temp_dir(gz ? "gz" : "plain");
    write_mnist(d, 12, gz);
    ImageDataset ds = load_mnist_dir(d.string());
    REQUIRE(ds.size() == 12);
    CHECK(ds.images.shape() == Shape{12, 1, 28, 28});
    CHECK(ds.num_classes == 10);
    CHECK(ds.labels[11] == 1);
    CHECK(ds.images.at({3, 0, 2, 5}) == Approx((3 * 7 + 2 + 5) / 127.5 - 1.0));
    ImageDataset small = load_mnist_dir(d.string(), 16, 5);
    CHECK(small.images.shape() == Shape{5, 1, 16, 16});
    fs::remove_all(d);
  }
}

TEST_CASE("image data: bad MNIST files give errors naming the file", "[gan][data]") {
  fs::path d = temp_dir("bad");
  write_mnist(d, 10, false, 16 + 28 * 28 * 3 + 5);  // 3 images and a bit, of 10 promised
  std::string img = (d / "train-images-idx3-ubyte").string();
  try {
    load_mnist(img, "");
    FAIL("truncated file accepted");
  } catch (const Error& e) {
    std::string m = e.what();
    CHECK(m.find(img) != std::string::npos);
    CHECK(m.find("truncated") != std::string::npos);
  }
  std::ofstream(d / "junk", std::ios::binary) << "definitely not an idx file";
  CHECK_THROWS_WITH(load_mnist((d / "junk").string(), ""), Catch::Contains("magic"));
  CHECK_THROWS_WITH(load_mnist((d / "missing").string(), ""), Catch::Contains("no such file"));
  CHECK_THROWS_WITH(load_mnist_dir((d / "nowhere").string()), Catch::Contains("not a directory"));
  fs::remove_all(d);
}

TEST_CASE("image data: CIFAR-10 records and an image folder", "[gan][data]") {
  fs::path d = temp_dir("cifar");
  std::vector<uint8_t> rec;
  for (int r = 0; r < 3; ++r) {
    rec.push_back(static_cast<uint8_t>(r + 4));
    for (int i = 0; i < 3072; ++i) rec.push_back(static_cast<uint8_t>((i + r) % 256));
  }
  std::ofstream(d / "data_batch_1.bin", std::ios::binary).write(reinterpret_cast<const char*>(rec.data()), static_cast<long>(rec.size()));
  ImageDataset c = load_cifar10(d.string());
  CHECK(c.images.shape() == Shape{3, 3, 32, 32});
  CHECK(c.labels == std::vector<int32_t>{4, 5, 6});
  CHECK(c.images.at({1, 2, 0, 1}) == Approx(((2 * 1024 + 1 + 1) % 256) / 127.5 - 1.0));
  std::ofstream(d / "data_batch_2.bin", std::ios::binary) << "short";
  CHECK_THROWS_WITH(load_cifar10(d.string()), Catch::Contains("3073-byte"));

  fs::path f = temp_dir("folder");
  std::vector<uint8_t> rgb(6 * 4 * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>(i * 3);
  REQUIRE(stbi_write_png((f / "a.png").string().c_str(), 6, 4, 3, rgb.data(), 6 * 3));
  ImageDataset im = load_image_folder(f.string(), 4, 3);
  CHECK(im.images.shape() == Shape{1, 3, 4, 4});
  // centre crop of a 6x4 image keeps columns 1..4: pixel (y=0, x=0) of the crop is source (0, 1), red channel.
  CHECK(im.images.at({0, 0, 0, 0}) == Approx(rgb[3] / 127.5 - 1.0));
  std::ofstream(f / "b.png") << "not a png";
  CHECK_THROWS_WITH(load_image_folder(f.string(), 4, 3), Catch::Contains("b.png"));
  fs::remove_all(d);
  fs::remove_all(f);
}

TEST_CASE("image data: bilinear resize matches PyTorch's align_corners=False", "[gan][data]") {
  // torch.nn.functional.interpolate(torch.arange(16.).view(1,1,4,4), size=2, mode='bilinear') = [[2.5,4.5],[10.5,12.5]]
  Tensor x = reshape(arange(16), {1, 1, 4, 4});
  Tensor y = resize_bilinear(x, 2);
  CHECK(y.to_vector() == std::vector<float>{2.5f, 4.5f, 10.5f, 12.5f});
}

TEST_CASE("image data: stacked MNIST and the batcher's restorable order", "[gan][data]") {
  fs::path d = temp_dir("stack");
  write_mnist(d, 20, true);
  ImageDataset m = load_mnist_dir(d.string());
  Generator g(3);
  ImageDataset s = make_stacked_mnist(m, 7, g);
  CHECK(s.images.shape() == Shape{7, 3, 28, 28});
  CHECK(s.num_classes == 1000);
  for (int32_t l : s.labels) CHECK((l >= 0 && l < 1000));

  ImageBatcher a(m, 42, true), b(m, 42, true);
  Tensor a1 = a.next(15, Device::cpu());
  CHECK(a1.to_vector() == b.next(15, Device::cpu()).to_vector());
  auto st = a.state();
  Tensor a2 = a.next(15, Device::cpu());  // crosses into the second epoch
  CHECK(a.state().epoch == 1);
  ImageBatcher c(m, 42, true);
  c.set_state(st);
  CHECK(c.next(15, Device::cpu()).to_vector() == a2.to_vector());
  ImageBatcher other(m, 43, true);
  CHECK(other.next(15, Device::cpu()).to_vector() != a1.to_vector());
  fs::remove_all(d);
}
