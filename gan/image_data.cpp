// gan/image_data.cpp — readers for MNIST IDX (.gz or plain, inflated in memory with zlib), CIFAR-10 binary
// batches and image folders (stb_image, implemented in gan/stb_image_impl.cpp), stacked MNIST, bilinear resizing, and
// the seeded shuffling batcher. Each path reader reads the file's bytes and hands them to the in-memory parser
// that fuzz/ drives, so there is one parsing code path.
#include "gan/image_data.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "core/ops.h"
#include "gan/stb_guard.h"

#include <stb_image.h>  // implemented in gan/stb_image_impl.cpp

namespace ganglion {

namespace fs = std::filesystem;

namespace {

// A whole file's bytes (no decompression). Error names the file.
std::vector<uint8_t> read_file_bytes(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path + ": no such file");
  if (!fs::is_regular_file(path, ec)) throw Error(path + ": not a regular file");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open: " + std::strerror(errno));
  std::vector<uint8_t> out;
  char buf[1 << 16];
  while (f.read(buf, sizeof buf) || f.gcount() > 0) out.insert(out.end(), buf, buf + f.gcount());
  if (f.bad()) throw Error(path + ": read error");
  return out;
}

bool is_gzip(std::span<const uint8_t> b) { return b.size() >= 2 && b[0] == 0x1f && b[1] == 0x8b; }

// gzip bytes decompressed (members one after another, trailing non-gzip bytes ignored); other bytes as they are.
std::vector<uint8_t> gunzip_if_gzip(std::span<const uint8_t> bytes, const std::string& name) {
  if (!is_gzip(bytes)) return {bytes.begin(), bytes.end()};
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) throw Error(name + ": cannot start gzip decompression");
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  size_t pos = 0;  // input bytes consumed
  std::string err;
  for (;;) {  // one gzip member per pass
    int rc = Z_OK;
    while (rc != Z_STREAM_END && err.empty()) {
      const Bytef* at = bytes.data() + pos;
      zs.next_in = const_cast<Bytef*>(at);
      zs.avail_in = static_cast<uInt>(std::min<size_t>(bytes.size() - pos, std::numeric_limits<uInt>::max()));
      zs.next_out = buf;
      zs.avail_out = sizeof buf;
      rc = inflate(&zs, Z_NO_FLUSH);
      pos += static_cast<size_t>(zs.next_in - at);
      const size_t produced = sizeof buf - zs.avail_out;
      if (rc == Z_BUF_ERROR)  // no progress with a whole empty buffer to fill: the input ran out
        err = "truncated gzip stream (" + std::to_string(bytes.size()) + " bytes)";
      else if (rc != Z_OK && rc != Z_STREAM_END)
        err = std::string("corrupt gzip data (") + (zs.msg ? zs.msg : "zlib error " + std::to_string(rc)) + ")";
      else if (out.size() + produced > kMaxInflatedBytes)
        err = "decompresses to more than " + std::to_string(kMaxInflatedBytes >> 30) + " GiB; refusing";
      else
        out.insert(out.end(), buf, buf + produced);
    }
    if (!err.empty() || !is_gzip(bytes.subspan(pos))) break;
    inflateReset(&zs);
  }
  inflateEnd(&zs);
  if (!err.empty()) throw Error(name + ": " + err);
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
  if (size <= 0) throw Error("resize_bilinear: size must be positive, got " + std::to_string(size));
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

ImageDataset parse_mnist(std::span<const uint8_t> image_file, const std::string& images_name,
                         std::optional<std::span<const uint8_t>> label_file, const std::string& labels_name,
                         int64_t size, int64_t limit) {
  const std::vector<uint8_t> b = gunzip_if_gzip(image_file, images_name);
  if (b.size() < 16) throw Error(images_name + ": truncated IDX header (" + std::to_string(b.size()) + " bytes, need 16)");
  if (be32(b, 0) != 0x803) {
    char m[16];
    std::snprintf(m, sizeof m, "0x%08x", be32(b, 0));
    throw Error(images_name + ": not an IDX image file (magic " + m + ", expected 0x00000803)");
  }
  int64_t n = be32(b, 4), h = be32(b, 8), w = be32(b, 12);
  if (h <= 0 || w <= 0 || h > 4096 || w > 4096) throw Error(images_name + ": implausible image size " +
                                                            std::to_string(h) + "x" + std::to_string(w));
  size_t need = 16 + static_cast<size_t>(n * h * w);
  if (b.size() < need) {
    throw Error(images_name + ": truncated: header promises " + std::to_string(n) + " images of " + std::to_string(h) +
                "x" + std::to_string(w) + " (" + std::to_string(need) + " bytes) but the file has " +
                std::to_string(b.size()) + " bytes");
  }
  if (limit > 0) n = std::min(n, limit);
  ImageDataset ds;
  ds.name = "mnist";
  ds.images = resize_bilinear(bytes_to_images(b.data() + 16, n, 1, h, w), size);
  if (label_file) {
    const std::vector<uint8_t> l = gunzip_if_gzip(*label_file, labels_name);
    if (l.size() < 8 || be32(l, 0) != 0x801) throw Error(labels_name + ": not an IDX label file (expected magic 0x00000801)");
    int64_t nl = be32(l, 4);
    if (nl < n || l.size() < 8 + static_cast<size_t>(n)) {
      throw Error(labels_name + ": has " + std::to_string(std::min<int64_t>(nl, int64_t(l.size()) - 8)) +
                  " labels but " + images_name + " has " + std::to_string(n) + " images");
    }
    ds.labels.assign(l.begin() + 8, l.begin() + 8 + n);
    ds.num_classes = 10;
    for (int32_t v : ds.labels) {
      if (v < 0 || v > 9) throw Error(labels_name + ": label " + std::to_string(v) + " outside 0..9");
    }
  }
  return ds;
}

ImageDataset load_mnist(const std::string& images_path, const std::string& labels_path, int64_t size, int64_t limit) {
  const std::vector<uint8_t> images = read_file_bytes(images_path);
  if (labels_path.empty()) return parse_mnist(images, images_path, std::nullopt, "", size, limit);
  const std::vector<uint8_t> labels = read_file_bytes(labels_path);
  return parse_mnist(images, images_path, std::span<const uint8_t>(labels), labels_path, size, limit);
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

namespace {

constexpr size_t kCifarRecord = 1 + 3 * 32 * 32;

// Appends the records of one CIFAR-10 batch file (gzip or plain) to pix and labels, stopping at `limit` labels.
void append_cifar10(std::span<const uint8_t> file, const std::string& name, int64_t limit, std::vector<uint8_t>& pix,
                    std::vector<int32_t>& labels) {
  const std::vector<uint8_t> b = gunzip_if_gzip(file, name);
  if (b.empty() || b.size() % kCifarRecord != 0) {
    throw Error(name + ": size " + std::to_string(b.size()) +
                " bytes is not a whole number of 3073-byte CIFAR-10 records");
  }
  for (size_t r = 0; r < b.size() / kCifarRecord; ++r) {
    if (limit > 0 && static_cast<int64_t>(labels.size()) >= limit) break;
    const uint8_t* rec = b.data() + r * kCifarRecord;
    if (rec[0] > 9) throw Error(name + ": record " + std::to_string(r) + " has label " + std::to_string(rec[0]));
    labels.push_back(rec[0]);
    pix.insert(pix.end(), rec + 1, rec + kCifarRecord);
  }
}

ImageDataset cifar10_dataset(const std::vector<uint8_t>& pix, std::vector<int32_t> labels, int64_t size) {
  ImageDataset ds;
  ds.name = "cifar10";
  ds.images = resize_bilinear(bytes_to_images(pix.data(), static_cast<int64_t>(labels.size()), 3, 32, 32), size);
  ds.labels = std::move(labels);
  ds.num_classes = 10;
  return ds;
}

}  // namespace

ImageDataset parse_cifar10(std::span<const uint8_t> bytes, const std::string& name, int64_t size, int64_t limit) {
  std::vector<uint8_t> pix;
  std::vector<int32_t> labels;
  append_cifar10(bytes, name, limit, pix, labels);
  return cifar10_dataset(pix, std::move(labels), size);
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
  std::vector<uint8_t> pix;
  std::vector<int32_t> labels;
  for (const std::string& f : files) {
    if (limit > 0 && static_cast<int64_t>(labels.size()) >= limit) break;
    append_cifar10(read_file_bytes(f), f, limit, pix, labels);
  }
  return cifar10_dataset(pix, std::move(labels), size);
}

Tensor decode_image(std::span<const uint8_t> bytes, const std::string& name, int64_t size, int64_t channels) {
  if (channels != 1 && channels != 3) throw Error("image folder: channels must be 1 or 3, got " + std::to_string(channels));
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
    throw Error(name + ": image file of " + std::to_string(bytes.size()) + " bytes is larger than 2 GiB");
  const int len = static_cast<int>(bytes.size());
  if (std::string defect = stb_input_defect(bytes); !defect.empty()) throw Error(name + ": " + defect);
  int w = 0, h = 0, c = 0;
  if (!stbi_info_from_memory(bytes.data(), len, &w, &h, &c))
    throw Error(name + ": cannot decode image (" + stbi_failure_reason() + ")");
  if (w <= 0 || h <= 0 || int64_t(w) * h > kMaxImagePixels)
    throw Error(name + ": image of " + std::to_string(w) + "x" + std::to_string(h) + " pixels is larger than the " +
                std::to_string(kMaxImagePixels) + " pixels this reader accepts");
  unsigned char* px = stbi_load_from_memory(bytes.data(), len, &w, &h, &c, static_cast<int>(channels));
  if (!px) throw Error(name + ": cannot decode image (" + stbi_failure_reason() + ")");
  const int64_t side = std::min(w, h), ox = (w - side) / 2, oy = (h - side) / 2;  // centre crop
  Tensor t = Tensor::empty({1, channels, side, side});
  float* d = t.data();
  for (int64_t ch = 0; ch < channels; ++ch)
    for (int64_t y = 0; y < side; ++y)
      for (int64_t x = 0; x < side; ++x)
        d[(ch * side + y) * side + x] = px[((oy + y) * w + (ox + x)) * channels + ch] / 127.5f - 1.f;
  stbi_image_free(px);
  return resize_bilinear(t, size);
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
  for (const std::string& f : files) imgs.push_back(decode_image(read_file_bytes(f), f, size, channels));
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
