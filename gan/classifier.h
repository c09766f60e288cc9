// gan/classifier.h — the MNIST classifier behind the image metrics: a small all-convolutional LeNet-style net
// (stride-2 convolutions instead of pooling) trained by Ganglion itself, whose 128-wide penultimate activations
// are the feature space of FID_lenet / KID / precision-recall and whose predictions give class coverage and the
// stacked-MNIST mode count. Saved as safetensors (state_dict + metadata holding the held-out accuracy).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "gan/image_data.h"
#include "layers/linear.h"
#include "layers/module.h"
#include "layers/sequential.h"

namespace ganglion {

// Conv(1,32,3,1,1)-ReLU-Conv(32,32,4,2,1)-ReLU-Conv(32,64,3,1,1)-ReLU-Conv(64,64,4,2,1)-ReLU-Flatten-
// Linear(3136,128)-ReLU  ["body": the features]  -Linear(128,10)  ["head": the logits].
// Input: [N, 1, 28, 28] in [-1, 1] (other sizes are resized bilinearly to 28 by features/predict).
class MnistClassifier : public Module {
 public:
  static constexpr int64_t kFeatureDim = 128;
  static constexpr int64_t kClasses = 10;
  static constexpr int64_t kImageSize = 28;

  explicit MnistClassifier(uint64_t seed = 0);
  Tensor forward(const Tensor& x) override;  // logits [N, 10]; records a graph when grad mode is on
  std::string name() const override { return "MnistClassifier"; }

  // Batched inference under NoGradGuard in eval mode, on the model's device; results on the CPU.
  // images [N, 1, S, S] on any device.
  Tensor features(const Tensor& images, int64_t batch = 500);               // [N, 128]
  std::vector<int32_t> predict(const Tensor& images, int64_t batch = 500);  // N class indices in [0, 10)
  // Both from one pass; either pointer may be null.
  void infer(const Tensor& images, Tensor* features, std::vector<int32_t>* labels, int64_t batch = 500);
  // Stacked MNIST: images [N, 3, S, S]; each channel classified on its own; label 100*c0 + 10*c1 + c2 (the
  // convention of make_stacked_mnist).
  std::vector<int32_t> predict_stacked(const Tensor& images, int64_t batch = 500);
  // Fraction of `data` (labelled, 1 channel) predicted correctly.
  double accuracy(const ImageDataset& data, int64_t batch = 500);

  // Moves the model (Module::to) and remembers the device used for inference.
  void to_device(Device d);
  Device device() const { return device_; }

  // Held-out accuracy measured at training time (-1 when unknown); stored in the file's metadata.
  double test_accuracy = -1.0;
  std::map<std::string, std::string> metadata;  // extra metadata written by save and read by load

  // safetensors: the state_dict plus metadata {"format": "ganglion.mnist_classifier.v1", "test_accuracy", ...}.
  void save(const std::string& path) const;
  // Throws Error naming the file when it is missing, malformed or not a classifier of this architecture.
  static std::shared_ptr<MnistClassifier> load(const std::string& path, Device d = Device::cpu());

  std::shared_ptr<Sequential> body;
  std::shared_ptr<Linear> head;

 private:
  Device device_ = Device::cpu();
};

struct ClassifierTrainOptions {
  int epochs = 15;
  int64_t batch = 64;
  float lr = 1e-3f;            // Adam; cosine-decayed to lr/20 over the run
  float weight_decay = 0.f;    // Adam's L2 term
  // Augmentation, a random similarity transform per image (all 0: none): translation up to +-max_shift pixels
  // per axis, rotation up to +-max_rotate_deg, scale in [1 - max_scale, 1 + max_scale].
  float max_shift = 2.f, max_rotate_deg = 10.f, max_scale = 0.1f;
  uint64_t seed = 0;
  Device device = Device::cpu();
  std::function<void(const std::string&)> log;  // progress lines (may be empty)
};

struct TrainedClassifier {
  std::shared_ptr<MnistClassifier> model;
  double test_accuracy = 0.0;  // on `test`, in [0, 1]
  double seconds = 0.0;        // wall-clock training time
};

// Cross-entropy of logits [N, C] against integer labels (mean over the batch), differentiable in the logits.
Tensor cross_entropy(const Tensor& logits, const std::vector<int32_t>& labels);

// Trains on `train` (labelled 1-channel 28x28 images in [-1, 1]) and measures accuracy on `test`.
TrainedClassifier train_mnist_classifier(const ImageDataset& train, const ImageDataset& test,
                                         const ClassifierTrainOptions& opt);

// The labelled train digits (train-images/labels) and held-out test digits (t10k-images/labels) of an MNIST
// folder, gzip or plain; Error naming the folder and the file names tried when one is missing.
struct MnistSplits {
  ImageDataset train, test;
};
MnistSplits load_mnist_splits(const std::string& dir);

// Where the tools cache the classifier when no file is given: $GANGLION_CACHE_DIR, else $XDG_CACHE_HOME/ganglion,
// else $HOME/.cache/ganglion, else the working directory; file mnist_classifier.safetensors.
std::string default_classifier_path();

// Loads `cache_path` when it exists; otherwise trains on `train`, checks on `test`, and saves to cache_path
// (creating its folder).
std::shared_ptr<MnistClassifier> load_or_train_mnist_classifier(const std::string& cache_path,
                                                                const ImageDataset& train, const ImageDataset& test,
                                                                const ClassifierTrainOptions& opt);

}  // namespace ganglion
