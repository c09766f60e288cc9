// gan/eval_checkpoint.h — the quality metrics of a checkpoint's generator, per noise seed and as mean ± standard
// error over the seeds, for the three kinds of run the metrics know (definitions: gan/METRICS.md):
//   2-D mixtures (ring8, grid25)  modes captured, % high quality, reverse KL (PacGAN's protocol)
//   mnist                         FID_lenet, KID, precision/recall (k = 3), class coverage and class KL, against
//                                 the held-out test digits of the MNIST folder
//   stacked_mnist                 modes captured out of 1,000 and KL against uniform (each channel classified)
// The image kinds use the Ganglion MNIST classifier (gan/classifier.h), loaded from a cache file or trained there
// on first use. `ganglion eval` is a thin front end to evaluate_checkpoint.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "gan/checkpoint.h"
#include "gan/classifier.h"

namespace ganglion {

// Mean and standard error of the mean (sample standard deviation / sqrt(n); 0 when n < 2).
struct MeanSe {
  double mean = 0.0, se = 0.0;
  int64_t n = 0;
};
MeanSe mean_se(const std::vector<double>& values);

enum class EvalKind { Mixture2d, Mnist, StackedMnist };
// The kind a dataset name is evaluated as; Error naming the dataset for cifar10, folder and swissroll.
EvalKind eval_kind(const std::string& data);
const char* eval_kind_name(EvalKind k);  // "2d" | "mnist" | "stacked_mnist"

struct EvalOptions {
  int64_t samples = 0;  // per seed; 0: the protocol's count (2,500 for 2-D, 1,000 for mnist, 26,000 for stacked)
  int64_t seeds = 0;    // noise seeds 0..seeds-1; 0: 5 for 2-D, 1 for images
  bool ema = true;      // the EMA generator when the checkpoint has one
  Device device = Device::cpu();
  std::string data_path;        // image runs: the MNIST folder; empty: the checkpoint's data_path
  std::string classifier_path;  // image runs: the classifier file; empty: default_classifier_path()
  ClassifierTrainOptions classifier_train;  // how to train it when the file does not exist yet
  std::function<void(const std::string&)> log;  // progress lines (may be empty)
};

// One metric column: its key (JSON), a label and how to print it.
struct EvalMetric {
  std::string key, label;
  double print_scale = 1.0;  // 100 for percentages
  int decimals = 3;
  std::vector<double> per_seed;
  MeanSe summary;
};

struct EvalReport {
  std::string checkpoint, data;
  int64_t step = 0;
  EvalKind kind = EvalKind::Mixture2d;
  int64_t samples = 0, seeds = 0;
  int64_t modes_total = 0;  // 25 / 8 for the mixtures, 1000 for stacked MNIST, 10 classes for mnist
  std::string classifier_path;
  double classifier_accuracy = -1.0;  // held-out accuracy stored in the classifier file
  int64_t real_count = 0;             // mnist: the held-out digits compared against
  std::vector<EvalMetric> metrics;
  const EvalMetric& metric(const std::string& key) const;  // Error naming the key when absent
};

// Evaluates the checkpoint's generator. Errors name the checkpoint, dataset, folder or classifier file at fault.
EvalReport evaluate_checkpoint(const Checkpoint& ck, const EvalOptions& opt);

// Samples n outputs of g (eval mode, no graph) in batches of `batch` from noise drawn by `noise`, handing each
// batch (on the CPU) to `each` in order.
void generate_batches(Module& g, const TrainConfig& c, int64_t n, Generator& noise, Device d, int64_t batch,
                      const std::function<void(const Tensor&)>& each);

}  // namespace ganglion
