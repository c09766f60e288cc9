// gan/image_data.h — image datasets for GAN training: MNIST IDX (plain or .gz), CIFAR-10 binary batches, folders
// of PNG/JPEG (resized and centre-cropped), stacked MNIST (three random digits as three channels); pixels scaled
// to [-1, 1]; and a seeded shuffling batcher whose position a checkpoint can keep.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"

namespace ganglion {

struct ImageDataset {
  std::string name;
  Tensor images;                // [N, C, S, S] float32 in [-1, 1], on the CPU
  std::vector<int32_t> labels;  // N labels, or empty
  int64_t num_classes = 0;      // 0 when unlabelled
  int64_t size() const { return images.defined() ? images.size(0) : 0; }
};

// MNIST-style IDX files (magic 0x803 images, 0x801 labels), gzip or plain. `labels_path` may be empty.
// `size` resizes (bilinear) to size x size when it differs from 28. `limit` > 0 keeps the first `limit` images.
// Errors name the file and what is wrong (missing, bad magic, truncated: bytes expected vs found).
ImageDataset load_mnist(const std::string& images_path, const std::string& labels_path, int64_t size = 28,
                        int64_t limit = 0);
// Finds train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz] in `dir` (Error listing what was tried).
ImageDataset load_mnist_dir(const std::string& dir, int64_t size = 28, int64_t limit = 0);
// CIFAR-10 binary: a data_batch_*.bin file or a folder holding them (3073-byte records: label + 3x32x32).
ImageDataset load_cifar10(const std::string& path, int64_t size = 32, int64_t limit = 0);
// Every .png/.jpg/.jpeg/.bmp in `dir` (sorted by name), centre-cropped to a square and resized to size x size,
// with `channels` 1 (gray) or 3 (RGB). Unreadable images are an Error naming the file.
ImageDataset load_image_folder(const std::string& dir, int64_t size, int64_t channels, int64_t limit = 0);

// The parsers behind the path readers above, on a whole file's bytes in memory (the path readers read the file
// and call these; fuzz/ drives them directly). `name` stands for the file in error messages.
// IDX bytes may be gzip or plain; `labels` absent means no labels.
ImageDataset parse_mnist(std::span<const uint8_t> images, const std::string& images_name,
                         std::optional<std::span<const uint8_t>> labels, const std::string& labels_name,
                         int64_t size = 28, int64_t limit = 0);
// One CIFAR-10 binary batch (gzip or plain).
ImageDataset parse_cifar10(std::span<const uint8_t> bytes, const std::string& name, int64_t size = 32,
                           int64_t limit = 0);
// One PNG, JPEG or BMP image, centre-cropped and resized: [1, channels, size, size] in [-1, 1]. Images of more
// than kMaxImagePixels pixels are refused before they are decoded.
constexpr int64_t kMaxImagePixels = int64_t(1) << 25;  // 32 Mpixel, e.g. 8192 x 4096
Tensor decode_image(std::span<const uint8_t> bytes, const std::string& name, int64_t size, int64_t channels);
// gzip input is decompressed first (several members one after another; anything after the last is ignored, as
// zlib's gzread does) and refused when it would inflate past kMaxInflatedBytes.
constexpr uint64_t kMaxInflatedBytes = uint64_t(4) << 30;  // 4 GiB
// `n` images of three MNIST digits drawn at random (from g) stacked as channels; label = 100*d0 + 10*d1 + d2.
ImageDataset make_stacked_mnist(const ImageDataset& mnist, int64_t n, Generator& g);

// Bilinear resize of [N, C, H, W] (CPU) to [N, C, size, size] (align_corners=False, as PyTorch).
Tensor resize_bilinear(const Tensor& images, int64_t size);

// Seeded shuffling batches over a dataset: each epoch is a fresh permutation drawn from the batcher's own
// Generator, so (seed, epoch, position) fully determines what comes next and a checkpoint can restore it.
class ImageBatcher {
 public:
  ImageBatcher(const ImageDataset& data, uint64_t seed, bool flip = false);
  // The next `n` images (wrapping into a new epoch when needed) on device d, with optional random h-flips.
  Tensor next(int64_t n, Device d);
  // The labels of the images returned by the last next() call.
  const std::vector<int32_t>& last_labels() const { return last_labels_; }
  struct State {
    uint64_t epoch = 0, position = 0;
  };
  State state() const { return {epoch_, position_}; }
  void set_state(const State& s);

 private:
  void shuffle_for_epoch();
  const ImageDataset* data_;
  uint64_t seed_;
  bool flip_;
  uint64_t epoch_ = 0, position_ = 0;
  std::vector<int64_t> order_;
  std::vector<int32_t> last_labels_;
};

}  // namespace ganglion
