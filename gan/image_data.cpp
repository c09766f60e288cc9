// gan/image_data.cpp — readers for MNIST IDX (zlib reads .gz and plain alike), CIFAR-10 binary batches and
// image folders (stb_image, the one stb_image implementation), stacked MNIST, bilinear resizing, and the
// seeded shuffling batcher.
#include "gan/image_data.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "core/ops.h"

#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include <stb_image.h>

namespace ganglion {

namespace fs = std::filesystem;

namespace {

// Whole file through zlib (gzip or plain). Error names the file.
std::vector<uint8_t> read_all(const std::string& path) {
  if (!fs::exists(path)) throw Error(path + ": no such file");
  if (!fs::is_regular_file(path)) throw Error(path + ": not a regular file");
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw Error(path + ": cannot open: " + std::strerror(errno));
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  for (;;) {
    int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int err = 0;
      std::string msg = gzerror(f, &err);
      gzclose(f);
      throw Error(path + ": read error (" + msg + "); the file may be truncated or not gzip");
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  gzclose(f);
  return out;
}

uint32_t be32(const std::vector<uint8_t>& b, size_t at) {
  return (uint32_t(b[at]) << 24) | (uint32_t(b[at + 1]) << 16) | (uint32_t(b[at + 2]) << 8) | uint32_t(b[at + 3]);
}

std::string first_existing(const std::string& dir, const std::vector<std::string>& names, const char* what) {
  std::string tried;
  for (const std::string& n : names) {
    fs::path p = fs::path(dir) / n;
    if (fs::exists(p)) return p.string();
    tried += (tried.empty() ? "" : ", ") + n;
  }
  throw Error(dir + ": no MNIST " + what + " file found (tried " + tried + ")");
}

// Bytes [N, C, H, W] (0..255) into a [-1, 1] float tensor.
Tensor bytes_to_images(const uint8_t* p, int64_t n, int64_t c, int64_t h, int64_t w) {
  Tensor t = Tensor::empty({n, c, h, w});
  float* d = t.data();
  for (int64_t i = 0; i < n * c * h * w; ++i) d[i] = static_cast<float>(p[i]) / 127.5f - 1.f;
  return t;
}

}  // namespace

Tensor resize_bilinear(const Tensor& images, int64_t size) {
  if (images.dim() != 4) throw Error("resize_bilinear: expected [N,C,H,W], got " + shape_str(images.shape()));
  int64_t N = images.size(0), C = images.size(1), H = images.size(2), W = images.size(3);
  if (H == size && W == size) return images;
  Tensor out = Tensor::empty({N, C, size, size});
  const float* s = images.data();
  float* d = out.data();
  float sy = static_cast<float>(H) / size, sx = static_cast<float>(W) / size;
#pragma omp parallel for
  for (int64_t nc = 0; nc < N * C; ++nc) {
    const float* src = s + nc * H * W;
    float* dst = d + nc * size * size;
    for (int64_t y = 0; y < size; ++y) {
      float fy = std::max(0.f, (y + 0.5f) * sy - 0.5f);
      int64_t y0 = std::min<int64_t>(static_cast<int64_t>(fy), H - 1), y1 = std::min<int64_t>(y0 + 1, H - 1);
      float wy = fy - y0;
      for (int64_t x = 0; x < size; ++x) {
        float fx = std::max(0.f, (x + 0.5f) * sx - 0.5f);
        int64_t x0 = std::min<int64_t>(static_cast<int64_t>(fx), W - 1), x1 = std::min<int64_t>(x0 + 1, W - 1);
        float wx = fx - x0;
        float top = src[y0 * W + x0] * (1 - wx) + src[y0 * W + x1] * wx;
        float bot = src[y1 * W + x0] * (1 - wx) + src[y1 * W + x1] * wx;
        dst[y * size + x] = top * (1 - wy) + bot * wy;
      }
    }
  }
  return out;
}

ImageDataset load_mnist(const std::string& images_path, const std::string& labels_path, int64_t size, int64_t limit) {
  std::vector<uint8_t> b = read_all(images_path);
  if (b.size() < 16) throw Error(images_path + ": truncated IDX header (" + std::to_string(b.size()) + " bytes, need 16)");
  if (be32(b, 0) != 0x803) {
    char m[16];
    std::snprintf(m, sizeof m, "0x%08x", be32(b, 0));
    throw Error(images_path + ": not an IDX image file (magic " + m + ", expected 0x00000803)");
  }
  int64_t n = be32(b, 4), h = be32(b, 8), w = be32(b, 12);
  if (h <= 0 || w <= 0 || h > 4096 || w > 4096) throw Error(images_path + ": implausible image size " +
                                                            std::to_string(h) + "x" + std::to_string(w));
  size_t need = 16 + static_cast<size_t>(n * h * w);
  if (b.size() < need) {
    throw Error(images_path + ": truncated: header promises " + std::to_string(n) + " images of " + std::to_string(h) +
                "x" + std::to_string(w) + " (" + std::to_string(need) + " bytes) but the file has " +
                std::to_string(b.size()) + " bytes");
  }
  if (limit > 0) n = std::min(n, limit);
  ImageDataset ds;
  ds.name = "mnist";
  ds.images = resize_bilinear(bytes_to_images(b.data() + 16, n, 1, h, w), size);
  if (!labels_path.empty()) {
    std::vector<uint8_t> l = read_all(labels_path);
    if (l.size() < 8 || be32(l, 0) != 0x801) throw Error(labels_path + ": not an IDX label file (expected magic 0x00000801)");
    int64_t nl = be32(l, 4);
    if (nl < n || l.size() < 8 + static_cast<size_t>(n)) {
      throw Error(labels_path + ": has " + std::to_string(std::min<int64_t>(nl, int64_t(l.size()) - 8)) +
                  " labels but " + images_path + " has " + std::to_string(n) + " images");
    }
    ds.labels.assign(l.begin() + 8, l.begin() + 8 + n);
    ds.num_classes = 10;
    for (int32_t v : ds.labels) {
      if (v < 0 || v > 9) throw Error(labels_path + ": label " + std::to_string(v) + " outside 0..9");
    }
  }
  return ds;
}

ImageDataset load_mnist_dir(const std::string& dir, int64_t size, int64_t limit) {
  if (!fs::is_directory(dir)) throw Error(dir + ": not a directory (expected a folder with MNIST IDX files)");
  std::string img = first_existing(dir, {"train-images-idx3-ubyte.gz", "train-images-idx3-ubyte", "train-images.idx3-ubyte"}, "images");
  std::string lab;
  try {
    lab = first_existing(dir, {"train-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte", "train-labels.idx1-ubyte"}, "labels");
  } catch (const Error&) {
    lab.clear();  // labels are optional for unconditional GANs
  }
  return load_mnist(img, lab, size, limit);
}

ImageDataset load_cifar10(const std::string& path, int64_t size, int64_t limit) {
  std::vector<std::string> files;
  if (fs::is_directory(path)) {
    for (auto& e : fs::directory_iterator(path)) {
      std::string n = e.path().filename().string();
      if (n.rfind("data_batch_", 0) == 0 && e.path().extension() == ".bin") files.push_back(e.path().string());
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) throw Error(path + ": no data_batch_*.bin files (CIFAR-10 binary version)");
  } else {
    files.push_back(path);
  }
  const size_t rec = 1 + 3 * 32 * 32;
  std::vector<uint8_t> pix;
  std::vector<int32_t> labels;
  for (const std::string& f : files) {
    std::vector<uint8_t> b = read_all(f);
    if (b.empty() || b.size() % rec != 0) {
      throw Error(f + ": size " + std::to_string(b.size()) + " bytes is not a whole number of 3073-byte CIFAR-10 records");
    }
    for (size_t r = 0; r < b.size() / rec; ++r) {
      if (b[r * rec] > 9) throw Error(f + ": record " + std::to_string(r) + " has label " + std::to_string(b[r * rec]));
      labels.push_back(b[r * rec]);
      pix.insert(pix.end(), b.begin() + static_cast<long>(r * rec + 1), b.begin() + static_cast<long>((r + 1) * rec));
      if (limit > 0 && static_cast<int64_t>(labels.size()) >= limit) break;
    }
    if (limit > 0 && static_cast<int64_t>(labels.size()) >= limit) break;
  }
  ImageDataset ds;
  ds.name = "cifar10";
  ds.images = resize_bilinear(bytes_to_images(pix.data(), static_cast<int64_t>(labels.size()), 3, 32, 32), size);
  ds.labels = std::move(labels);
  ds.num_classes = 10;
  return ds;
}

ImageDataset load_image_folder(const std::string& dir, int64_t size, int64_t channels, int64_t limit) {
  if (channels != 1 && channels != 3) throw Error("image folder: channels must be 1 or 3, got " + std::to_string(channels));
  if (!fs::is_directory(dir)) throw Error(dir + ": not a directory");
  std::vector<std::string> files;
  for (auto& e : fs::directory_iterator(dir)) {
    std::string ext = e.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
    if (ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw Error(dir + ": no .png/.jpg/.jpeg/.bmp images found");
  if (limit > 0 && static_cast<int64_t>(files.size()) > limit) files.resize(static_cast<size_t>(limit));
  std::vector<Tensor> imgs;
  for (const std::string& f : files) {
    int w = 0, h = 0, c = 0;
    unsigned char* px = stbi_load(f.c_str(), &w, &h, &c, static_cast<int>(channels));
    if (!px) throw Error(f + ": cannot decode image (" + stbi_failure_reason() + ")");
    int side = std::min(w, h), ox = (w - side) / 2, oy = (h - side) / 2;  // centre crop
    Tensor t = Tensor::empty({1, channels, side, side});
    float* d = t.data();
    for (int64_t ch = 0; ch < channels; ++ch)
      for (int y = 0; y < side; ++y)
        for (int x = 0; x < side; ++x)
          d[(ch * side + y) * side + x] = px[((oy + y) * w + (ox + x)) * channels + ch] / 127.5f - 1.f;
    stbi_image_free(px);
    imgs.push_back(resize_bilinear(t, size));
  }
  ImageDataset ds;
  ds.name = "folder";
  ds.images = concat(imgs, 0);
  return ds;
}

ImageDataset make_stacked_mnist(const ImageDataset& mnist, int64_t n, Generator& g) {
  if (mnist.size() == 0 || mnist.images.size(1) != 1) throw Error("stacked MNIST: needs a 1-channel MNIST dataset");
  int64_t S = mnist.images.size(2), plane = S * S;
  Tensor out = Tensor::empty({n, 3, S, S});
  ImageDataset ds;
  ds.name = "stacked_mnist";
  bool labelled = !mnist.labels.empty();
  for (int64_t i = 0; i < n; ++i) {
    int32_t label = 0;
    for (int64_t c = 0; c < 3; ++c) {
      int64_t k = static_cast<int64_t>(g.next_index(static_cast<uint64_t>(mnist.size())));
      std::memcpy(out.data() + (i * 3 + c) * plane, mnist.images.data() + k * plane, plane * sizeof(float));
      if (labelled) label = label * 10 + mnist.labels[static_cast<size_t>(k)];
    }
    if (labelled) ds.labels.push_back(label);
  }
  ds.images = out;
  ds.num_classes = labelled ? 1000 : 0;
  return ds;
}

ImageBatcher::ImageBatcher(const ImageDataset& data, uint64_t seed, bool flip) : data_(&data), seed_(seed), flip_(flip) {
  if (data.size() == 0) throw Error("ImageBatcher: the dataset '" + data.name + "' is empty");
  shuffle_for_epoch();
}

void ImageBatcher::shuffle_for_epoch() {
  int64_t n = data_->size();
  order_.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order_[static_cast<size_t>(i)] = i;
  Generator g(seed_, epoch_ << 32);  // one independent stream per epoch
  for (int64_t i = n - 1; i > 0; --i) std::swap(order_[static_cast<size_t>(i)], order_[g.next_index(static_cast<uint64_t>(i + 1))]);
}

void ImageBatcher::set_state(const State& s) {
  if (s.position > static_cast<uint64_t>(data_->size())) {
    throw Error("ImageBatcher: saved position " + std::to_string(s.position) + " is beyond the dataset's " +
                std::to_string(data_->size()) + " images (is it the same dataset?)");
  }
  epoch_ = s.epoch;
  position_ = s.position;
  shuffle_for_epoch();
}

Tensor ImageBatcher::next(int64_t n, Device d) {
  const ImageDataset& ds = *data_;
  int64_t C = ds.images.size(1), S = ds.images.size(2), plane = C * S * S;
  Tensor batch = Tensor::empty({n, C, S, S});
  last_labels_.clear();
  for (int64_t i = 0; i < n; ++i) {
    if (position_ >= order_.size()) {
      ++epoch_;
      position_ = 0;
      shuffle_for_epoch();
    }
    int64_t k = order_[position_];
    const float* src = ds.images.data() + k * plane;
    float* dst = batch.data() + i * plane;
    bool mirror = flip_ && Generator(seed_ ^ 0x5bd1e995u, (epoch_ << 32) + position_).next_index(2) == 1;
    if (!mirror) {
      std::memcpy(dst, src, plane * sizeof(float));
    } else {
      for (int64_t r = 0; r < C * S; ++r)
        for (int64_t x = 0; x < S; ++x) dst[r * S + x] = src[r * S + (S - 1 - x)];
    }
    if (!ds.labels.empty()) last_labels_.push_back(ds.labels[static_cast<size_t>(k)]);
    ++position_;
  }
  return d.is_cpu() ? batch : batch.to(d);
}

}  // namespace ganglion
