// gan/data_source.cpp — the 2-D mixture and image dataset data sources.
#include "gan/data_source.h"

#include <filesystem>

#include "gan/image_data.h"

namespace ganglion {

namespace {

uint64_t get_u64(const nlohmann::json& s, const char* key, const char* what) {
  if (!s.is_object() || !s.contains(key) || !s[key].is_number_unsigned())
    throw Error(std::string(what) + " data state lacks a non-negative integer '" + key + "' (got " + s.dump() + ")");
  return s[key].get<uint64_t>();
}

class MixtureSource final : public DataSource {
 public:
  MixtureSource(const std::string& name, uint64_t seed) : m_(mixture2d(name)), rng_(seed) {}
  Tensor sample(int64_t n, Device d) override { return sample_mixture2d(m_, n, rng_, d); }
  nlohmann::json state() const override { return {{"seed", rng_.seed()}, {"offset", rng_.offset()}}; }
  void set_state(const nlohmann::json& s) override {
    rng_.set_state(get_u64(s, "seed", "2-D"), get_u64(s, "offset", "2-D"));
  }
  const Mixture2d* mixture() const override { return &m_; }
  std::string describe() const override { return m_.name; }

 private:
  Mixture2d m_;
  Generator rng_;
};

ImageDataset load_images(const TrainConfig& c, uint64_t seed) {
  const ImageGanSpec& im = c.image;
  if (c.data_path.empty())
    throw Error("data '" + c.data + "' needs its files: give --data-path (config key data_path)");
  if (!std::filesystem::exists(c.data_path))
    throw Error("--data-path '" + c.data_path + "' does not exist");
  if (c.data == "mnist") return load_mnist_dir(c.data_path, im.image_size);
  if (c.data == "cifar10") return load_cifar10(c.data_path, im.image_size);
  if (c.data == "folder") return load_image_folder(c.data_path, im.image_size, im.channels);
  ImageDataset mnist = load_mnist_dir(c.data_path, im.image_size);
  Generator g(seed ^ 0x57ac4eddull);
  return make_stacked_mnist(mnist, c.stacked_images > 0 ? c.stacked_images : mnist.size(), g);
}

class ImageSource final : public DataSource {
 public:
  ImageSource(const TrainConfig& c, uint64_t seed) : data_(load_images(c, seed)), batcher_(data_, seed), path_(c.data_path) {
    const int64_t ch = data_.images.size(1);
    if (ch != c.image.channels)
      throw Error("--data-path '" + path_ + "' has " + std::to_string(ch) + "-channel images but the config asks for " +
                  std::to_string(c.image.channels) + " (--channels)");
  }
  Tensor sample(int64_t n, Device d) override { return batcher_.next(n, d); }
  nlohmann::json state() const override {
    ImageBatcher::State s = batcher_.state();
    return {{"epoch", s.epoch}, {"position", s.position}};
  }
  void set_state(const nlohmann::json& s) override {
    batcher_.set_state({get_u64(s, "epoch", "image"), get_u64(s, "position", "image")});
  }
  std::string describe() const override {
    const Tensor& x = data_.images;
    return data_.name + ": " + std::to_string(data_.size()) + " images " + std::to_string(x.size(1)) + "x" +
           std::to_string(x.size(2)) + "x" + std::to_string(x.size(3)) + " from " + path_;
  }

 private:
  ImageDataset data_;  // declared before batcher_, which points at it
  ImageBatcher batcher_;
  std::string path_;
};

}  // namespace

std::unique_ptr<DataSource> make_data_source(const TrainConfig& c, uint64_t data_seed) {
  if (is_image_data(c.data)) return std::make_unique<ImageSource>(c, data_seed);
  return std::make_unique<MixtureSource>(c.data, data_seed);
}

}  // namespace ganglion
