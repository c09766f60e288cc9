// gan/classifier.cpp — the MNIST classifier of the image metrics: model, batched inference, cross-entropy,
// training with random-translation augmentation and a cosine-decayed Adam, and safetensors save/load.
#include "gan/classifier.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <numbers>
#include <sstream>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/optim.h"

namespace ganglion {

namespace {

constexpr const char* kFormat = "ganglion.mnist_classifier.v1";

std::string fmt_double(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

// Warps each image of batch [N, C, S, S] (CPU, in [-1, 1]) in place by its own random similarity transform about
// the centre: rotation in [-max_rotate_deg, max_rotate_deg], scale in [1 - max_scale, 1 + max_scale], translation
// in [-max_shift, max_shift] pixels per axis. Bilinear sampling; pixels from outside get the background value -1.
void random_affine_(Tensor& batch, const ClassifierTrainOptions& o, Generator& g) {
  if (o.max_shift <= 0.f && o.max_rotate_deg <= 0.f && o.max_scale <= 0.f) return;
  const int64_t N = batch.size(0), C = batch.size(1), S = batch.size(2), plane = S * S;
  const std::vector<float> u = g.rand({N, 4}, Device::cpu(), -1.f, 1.f).to_vector();
  const float centre = 0.5f * static_cast<float>(S - 1);
  std::vector<float> src(static_cast<size_t>(C * plane));
  for (int64_t n = 0; n < N; ++n) {
    const float* r = u.data() + 4 * n;
    const float angle = r[0] * o.max_rotate_deg * std::numbers::pi_v<float> / 180.f;
    const float scale = 1.f + r[1] * o.max_scale, tx = r[2] * o.max_shift, ty = r[3] * o.max_shift;
    // Output pixel p maps back to source p' = R(-angle) (p - centre - t) / scale + centre.
    const float ca = std::cos(angle) / scale, sa = std::sin(angle) / scale;
    float* img = batch.data() + n * C * plane;
    std::memcpy(src.data(), img, src.size() * sizeof(float));
    for (int64_t y = 0; y < S; ++y)
      for (int64_t x = 0; x < S; ++x) {
        const float dx = static_cast<float>(x) - centre - tx, dy = static_cast<float>(y) - centre - ty;
        const float sx = ca * dx + sa * dy + centre, sy = -sa * dx + ca * dy + centre;
        const float fx = std::floor(sx), fy = std::floor(sy), wx = sx - fx, wy = sy - fy;
        const int64_t x0 = static_cast<int64_t>(fx), y0 = static_cast<int64_t>(fy);
        for (int64_t c = 0; c < C; ++c) {
          auto at = [&](int64_t yy, int64_t xx) {
            return (yy >= 0 && yy < S && xx >= 0 && xx < S) ? src[static_cast<size_t>(c * plane + yy * S + xx)] : -1.f;
          };
          img[c * plane + y * S + x] = (1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x0 + 1)) +
                                       wy * ((1 - wx) * at(y0 + 1, x0) + wx * at(y0 + 1, x0 + 1));
        }
      }
  }
}

void check_images(const Tensor& images, int64_t channels, const char* what) {
  if (!images.defined() || images.dim() != 4 || images.size(1) != channels || images.size(2) != images.size(3))
    throw Error(std::string("MnistClassifier::") + what + ": expected images [N, " + std::to_string(channels) +
                ", S, S], got " + (images.defined() ? shape_str(images.shape()) : std::string("an undefined tensor")));
}

}  // namespace

MnistClassifier::MnistClassifier(uint64_t seed) {
  Generator g(seed);
  auto conv = [&](int64_t in, int64_t out, int k, int stride) {
    return std::make_shared<Conv2d>(in, out, k, g, Conv2dArgs{.stride = stride, .padding = 1});
  };
  body = register_module("body", std::make_shared<Sequential>(std::initializer_list<ModulePtr>{
                                     conv(1, 32, 3, 1), std::make_shared<ReLU>(),   //
                                     conv(32, 32, 4, 2), std::make_shared<ReLU>(),  // 28 -> 14
                                     conv(32, 64, 3, 1), std::make_shared<ReLU>(),  //
                                     conv(64, 64, 4, 2), std::make_shared<ReLU>(),  // 14 -> 7
                                     std::make_shared<Flatten>(),                   //
                                     std::make_shared<Linear>(64 * 7 * 7, kFeatureDim, g), std::make_shared<ReLU>()}));
  head = register_module("head", std::make_shared<Linear>(kFeatureDim, kClasses, g));
}

Tensor MnistClassifier::forward(const Tensor& x) { return head->forward(body->forward(x)); }

void MnistClassifier::to_device(Device d) {
  to(d);
  device_ = d;
}

void MnistClassifier::infer(const Tensor& images, Tensor* features, std::vector<int32_t>* labels, int64_t batch) {
  check_images(images, 1, "features/predict");
  NoGradGuard no_grad;
  const bool was_training = is_training();
  eval();
  const int64_t N = images.size(0);
  if (features) *features = Tensor::empty({N, kFeatureDim});
  if (labels) labels->assign(static_cast<size_t>(N), 0);
  batch = std::max<int64_t>(1, batch);
  for (int64_t first = 0; first < N; first += batch) {
    Tensor x = slice(images, 0, first, std::min(N, first + batch));
    if (x.size(2) != kImageSize) x = resize_bilinear(x.to(Device::cpu()), kImageSize);
    const Tensor f = body->forward(x.to(device_));
    if (features) {
      const std::vector<float> fv = f.to_vector();
      std::memcpy(features->data() + first * kFeatureDim, fv.data(), fv.size() * sizeof(float));
    }
    if (labels) {
      const std::vector<float> logits = head->forward(f).to_vector();
      for (int64_t n = 0; n < x.size(0); ++n) {
        const float* row = logits.data() + n * kClasses;
        (*labels)[static_cast<size_t>(first + n)] = static_cast<int32_t>(std::max_element(row, row + kClasses) - row);
      }
    }
  }
  train(was_training);
}

Tensor MnistClassifier::features(const Tensor& images, int64_t batch) {
  Tensor f;
  infer(images, &f, nullptr, batch);
  return f;
}

std::vector<int32_t> MnistClassifier::predict(const Tensor& images, int64_t batch) {
  std::vector<int32_t> labels;
  infer(images, nullptr, &labels, batch);
  return labels;
}

std::vector<int32_t> MnistClassifier::predict_stacked(const Tensor& images, int64_t batch) {
  check_images(images, 3, "predict_stacked");
  const int64_t N = images.size(0), S = images.size(2);
  // Channel c of image n is plane 3n + c of the contiguous buffer, so a reshape lists the planes in that order.
  const std::vector<int32_t> digits = predict(reshape(images.detach(), {N * 3, 1, S, S}), batch);
  std::vector<int32_t> labels(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n)
    labels[static_cast<size_t>(n)] = 100 * digits[static_cast<size_t>(3 * n)] +
                                     10 * digits[static_cast<size_t>(3 * n + 1)] + digits[static_cast<size_t>(3 * n + 2)];
  return labels;
}

double MnistClassifier::accuracy(const ImageDataset& data, int64_t batch) {
  if (data.size() == 0 || data.labels.size() != static_cast<size_t>(data.size()))
    throw Error("MnistClassifier::accuracy: the dataset '" + data.name + "' is empty or unlabelled");
  const std::vector<int32_t> pred = predict(data.images, batch);
  int64_t right = 0;
  for (size_t i = 0; i < pred.size(); ++i) right += pred[i] == data.labels[i];
  return static_cast<double>(right) / static_cast<double>(pred.size());
}

void MnistClassifier::save(const std::string& path) const {
  std::map<std::string, std::string> meta = metadata;
  meta["format"] = kFormat;
  meta["architecture"] = "conv3x3(1,32)-relu-conv4x4s2(32,32)-relu-conv3x3(32,64)-relu-conv4x4s2(64,64)-relu-"
                         "flatten-linear(3136,128)-relu-linear(128,10)";
  meta["input"] = "[N,1,28,28] in [-1,1]";
  meta["test_accuracy"] = fmt_double(test_accuracy);
  save_safetensors(path, state_dict(), meta);
}

std::shared_ptr<MnistClassifier> MnistClassifier::load(const std::string& path, Device d) {
  std::map<std::string, std::string> meta;
  const TensorMap state = load_safetensors(path, &meta);
  auto it = meta.find("format");
  if (it == meta.end() || it->second != kFormat)
    throw Error("MnistClassifier::load: " + path + " is not a Ganglion MNIST classifier (metadata format '" +
                (it == meta.end() ? std::string("<missing>") : it->second) + "', expected '" + kFormat + "')");
  auto model = std::make_shared<MnistClassifier>();
  try {
    model->load_state_dict(state, true);
  } catch (const Error& e) {
    throw Error("MnistClassifier::load: " + path + ": " + e.what());
  }
  if (auto acc = meta.find("test_accuracy"); acc != meta.end()) model->test_accuracy = std::stod(acc->second);
  for (const char* k : {"format", "architecture", "input", "test_accuracy"}) meta.erase(k);
  model->metadata = meta;
  model->to_device(d);
  return model;
}

Tensor cross_entropy(const Tensor& logits, const std::vector<int32_t>& labels) {
  if (logits.dim() != 2 || static_cast<size_t>(logits.size(0)) != labels.size())
    throw Error("cross_entropy: logits " + shape_str(logits.shape()) + " do not match " +
                std::to_string(labels.size()) + " labels");
  const int64_t N = logits.size(0), C = logits.size(1);
  std::vector<float> onehot(static_cast<size_t>(N * C), 0.f);
  for (int64_t n = 0; n < N; ++n) {
    const int32_t y = labels[static_cast<size_t>(n)];
    if (y < 0 || y >= C) throw Error("cross_entropy: label " + std::to_string(y) + " outside [0, " + std::to_string(C) + ")");
    onehot[static_cast<size_t>(n * C + y)] = 1.f;
  }
  // log_softmax with the row maximum taken out (a constant per row: it needs no gradient).
  const Tensor z = logits - max(logits.detach(), 1, true);
  const Tensor log_p = z - log(sum(exp(z), {1}, true));
  return neg(sum(mul(log_p, from_vector(onehot, {N, C}, logits.device())))) / static_cast<float>(N);
}

TrainedClassifier train_mnist_classifier(const ImageDataset& train, const ImageDataset& test,
                                         const ClassifierTrainOptions& opt) {
  for (const ImageDataset* ds : {&train, &test})
    if (ds->size() == 0 || ds->labels.size() != static_cast<size_t>(ds->size()) || ds->images.size(1) != 1)
      throw Error("train_mnist_classifier: '" + ds->name + "' must be a labelled, non-empty 1-channel dataset");
  const auto t0 = std::chrono::steady_clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };

  TrainedClassifier r;
  r.model = std::make_shared<MnistClassifier>(opt.seed);
  r.model->to_device(opt.device);
  r.model->train();
  Adam adam(r.model->parameters(), opt.lr, 0.9f, 0.999f, 1e-8f, opt.weight_decay);
  ImageBatcher batcher(train, opt.seed + 1);
  Generator aug(opt.seed + 2);

  const int64_t steps_per_epoch = (train.size() + opt.batch - 1) / opt.batch;
  const int64_t total = steps_per_epoch * std::max(1, opt.epochs);
  const float lr_min = opt.lr / 20.f;
  for (int64_t step = 0; step < total; ++step) {
    const double progress = static_cast<double>(step) / static_cast<double>(total);
    adam.set_lr(lr_min + 0.5f * (opt.lr - lr_min) * static_cast<float>(1.0 + std::cos(std::numbers::pi * progress)));
    Tensor x = batcher.next(opt.batch, Device::cpu());
    Tensor xs = x.size(2) == MnistClassifier::kImageSize ? x : resize_bilinear(x, MnistClassifier::kImageSize);
    random_affine_(xs, opt, aug);
    const Tensor loss = cross_entropy(r.model->forward(xs.to(opt.device)), batcher.last_labels());
    adam.zero_grad();
    loss.backward();
    adam.step();
    if (opt.log && ((step + 1) % steps_per_epoch == 0 || step == 0)) {
      std::ostringstream os;
      os << "classifier: epoch " << (step + 1 + steps_per_epoch - 1) / steps_per_epoch << "/" << opt.epochs
         << " step " << step + 1 << "/" << total << " loss " << loss.item() << " lr " << adam.lr();
      if ((step + 1) % steps_per_epoch == 0) os << " test acc " << r.model->accuracy(test);
      os << " (" << static_cast<int>(seconds()) << " s)";
      opt.log(os.str());
    }
  }
  r.model->eval();
  r.test_accuracy = r.model->accuracy(test);
  r.model->test_accuracy = r.test_accuracy;
  r.seconds = seconds();
  r.model->metadata["train_seconds"] = fmt_double(r.seconds);
  r.model->metadata["train_images"] = std::to_string(train.size());
  r.model->metadata["test_images"] = std::to_string(test.size());
  r.model->metadata["epochs"] = std::to_string(opt.epochs);
  r.model->metadata["seed"] = std::to_string(opt.seed);
  return r;
}

std::shared_ptr<MnistClassifier> load_or_train_mnist_classifier(const std::string& cache_path,
                                                                const ImageDataset& train, const ImageDataset& test,
                                                                const ClassifierTrainOptions& opt) {
  if (std::filesystem::exists(cache_path)) {
    if (opt.log) opt.log("classifier: loading " + cache_path);
    return MnistClassifier::load(cache_path, opt.device);
  }
  TrainedClassifier r = train_mnist_classifier(train, test, opt);
  if (opt.log)
    opt.log("classifier: held-out accuracy " + fmt_double(r.test_accuracy) + " after " + fmt_double(r.seconds) +
            " s; saving " + cache_path);
  const std::filesystem::path parent = std::filesystem::path(cache_path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) throw Error("classifier cache '" + cache_path + "': cannot create its folder: " + ec.message());
  r.model->save(cache_path);
  return r.model;
}

MnistSplits load_mnist_splits(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw Error(dir + ": not a directory (expected a folder with MNIST IDX files)");
  auto find = [&](const char* stem, const char* kind) {
    std::string tried;
    for (const char* suffix : {"-ubyte.gz", "-ubyte"}) {
      const fs::path p = fs::path(dir) / (std::string(stem) + suffix);
      if (fs::exists(p)) return p.string();
      tried += (tried.empty() ? "" : ", ") + p.filename().string();
    }
    throw Error(dir + ": no MNIST " + kind + " file found (tried " + tried + ")");
  };
  // Looked up one after the other, so that the error names the first missing file.
  const std::string train_images = find("train-images-idx3", "training images");
  const std::string train_labels = find("train-labels-idx1", "training labels");
  const std::string test_images = find("t10k-images-idx3", "held-out test images");
  const std::string test_labels = find("t10k-labels-idx1", "held-out test labels");
  MnistSplits s;
  s.train = load_mnist(train_images, train_labels);
  s.test = load_mnist(test_images, test_labels);
  return s;
}

std::string default_classifier_path() {
  namespace fs = std::filesystem;
  const char* file = "mnist_classifier.safetensors";
  if (const char* d = std::getenv("GANGLION_CACHE_DIR"); d && *d) return (fs::path(d) / file).string();
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d) return (fs::path(d) / "ganglion" / file).string();
  if (const char* d = std::getenv("HOME"); d && *d) return (fs::path(d) / ".cache" / "ganglion" / file).string();
  return file;
}

}  // namespace ganglion
