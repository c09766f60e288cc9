// gan/eval_checkpoint.cpp — per-seed quality metrics of a checkpoint's generator and their mean ± standard error:
// PacGAN's mode protocol for the 2-D mixtures, classifier-based metrics for MNIST and stacked MNIST.
#include "gan/eval_checkpoint.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/autograd.h"
#include "core/ops.h"
#include "gan/data2d.h"
#include "gan/metrics2d.h"
#include "gan/metrics_image.h"
#include "gan/models.h"
#include "gan/trainer.h"

namespace ganglion {

MeanSe mean_se(const std::vector<double>& values) {
  MeanSe r;
  r.n = static_cast<int64_t>(values.size());
  if (values.empty()) return r;
  for (double v : values) r.mean += v;
  r.mean /= static_cast<double>(r.n);
  if (r.n < 2) return r;
  double ss = 0.0;
  for (double v : values) ss += (v - r.mean) * (v - r.mean);
  r.se = std::sqrt(ss / static_cast<double>(r.n - 1)) / std::sqrt(static_cast<double>(r.n));
  return r;
}

EvalKind eval_kind(const std::string& data) {
  if (data == "mnist") return EvalKind::Mnist;
  if (data == "stacked_mnist") return EvalKind::StackedMnist;
  if (is_image_data(data))
    throw Error("eval: no quality metrics for '" + data +
                "' runs (they need mnist, stacked_mnist or a 2-D mixture with modes: ring8, grid25)");
  if (!mixture2d(data).has_modes())
    throw Error("eval: dataset '" + data + "' has no modes to count (the 2-D metrics need ring8 or grid25)");
  return EvalKind::Mixture2d;
}

const char* eval_kind_name(EvalKind k) {
  switch (k) {
    case EvalKind::Mixture2d: return "2d";
    case EvalKind::Mnist: return "mnist";
    case EvalKind::StackedMnist: return "stacked_mnist";
  }
  return "?";
}

const EvalMetric& EvalReport::metric(const std::string& key) const {
  for (const EvalMetric& m : metrics)
    if (m.key == key) return m;
  throw Error("eval report: no metric '" + key + "'");
}

void generate_batches(Module& g, const TrainConfig& c, int64_t n, Generator& noise, Device d, int64_t batch,
                      const std::function<void(const Tensor&)>& each) {
  batch = std::max<int64_t>(1, batch);
  for (int64_t first = 0; first < n; first += batch) {
    const int64_t count = std::min(batch, n - first);
    each(sample_generator(g, draw_noise(c, count, noise, d)).to(Device::cpu()));
  }
}

namespace {

EvalMetric column(const char* key, const char* label, double scale, int decimals) {
  EvalMetric m;
  m.key = key;
  m.label = label;
  m.print_scale = scale;
  m.decimals = decimals;
  return m;
}

// The noise of seed s: the stream ganglion eval has always used, so that older numbers stay comparable.
Generator seed_noise(int64_t s) { return Generator(derive_seed(static_cast<uint64_t>(s), 100)); }

std::string image_folder(const Checkpoint& ck, const EvalOptions& opt) {
  const std::string dir = opt.data_path.empty() ? ck.config.data_path : opt.data_path;
  if (dir.empty())
    throw Error("eval: '" + ck.path + "' records no data folder; give the MNIST folder with --data-path");
  return dir;
}

std::shared_ptr<MnistClassifier> classifier_for(const Checkpoint& ck, const EvalOptions& opt, EvalReport& report,
                                                MnistSplits* splits) {
  report.classifier_path = opt.classifier_path.empty() ? default_classifier_path() : opt.classifier_path;
  ClassifierTrainOptions train = opt.classifier_train;
  train.log = opt.log;
  std::shared_ptr<MnistClassifier> clf;
  if (std::filesystem::exists(report.classifier_path)) {
    if (opt.log) opt.log("classifier: loading " + report.classifier_path);
    clf = MnistClassifier::load(report.classifier_path, opt.device);
  } else {
    if (splits->train.size() == 0) *splits = load_mnist_splits(image_folder(ck, opt));
    if (opt.log) opt.log("classifier: " + report.classifier_path + " does not exist; training it (once)");
    clf = load_or_train_mnist_classifier(report.classifier_path, splits->train, splits->test, train);
  }
  report.classifier_accuracy = clf->test_accuracy;
  return clf;
}

void eval_2d(Module& g, const Checkpoint& ck, const EvalOptions& opt, EvalReport& r) {
  const Mixture2d m = mixture2d(ck.config.data);
  r.modes_total = static_cast<int64_t>(m.means.size());
  r.metrics = {column("modes", "modes", 1, 2), column("hq", "HQ %", 100, 2), column("rkl", "rev KL", 1, 4)};
  for (int64_t s = 0; s < r.seeds; ++s) {
    Generator noise = seed_noise(s);
    const ModeMetrics mm = mode_metrics(sample_generator(g, draw_noise(ck.config, r.samples, noise, opt.device)), m);
    r.metrics[0].per_seed.push_back(mm.modes_captured);
    r.metrics[1].per_seed.push_back(mm.hq_fraction);
    r.metrics[2].per_seed.push_back(mm.reverse_kl);
  }
}

void eval_mnist(Module& g, const Checkpoint& ck, const EvalOptions& opt, EvalReport& r) {
  MnistSplits splits = load_mnist_splits(image_folder(ck, opt));
  auto clf = classifier_for(ck, opt, r, &splits);
  r.modes_total = MnistClassifier::kClasses;
  r.real_count = splits.test.size();
  r.metrics = {column("fid", "FID_lenet", 1, 2),      column("kid", "KID", 1, 1),
               column("precision", "prec", 1, 3),     column("recall", "recall", 1, 3),
               column("coverage", "coverage", 1, 2), column("coverage_any", "cover any", 1, 2),
               column("class_kl", "class KL", 1, 4)};
  for (int64_t s = 0; s < r.seeds; ++s) {
    Generator noise = seed_noise(s);
    std::vector<Tensor> parts;
    generate_batches(g, ck.config, r.samples, noise, opt.device, 500, [&](const Tensor& x) { parts.push_back(x); });
    const ImageQuality q = image_quality(*clf, splits.test.images, splits.test.labels, concat(parts, 0));
    const double values[] = {q.fid, q.kid.mean, q.pr.precision, q.pr.recall, q.classes.coverage,
                             q.classes.coverage_any, q.classes.kl_to_data};
    for (size_t i = 0; i < r.metrics.size(); ++i) r.metrics[i].per_seed.push_back(values[i]);
    if (opt.log) opt.log("seed " + std::to_string(s) + ": FID_lenet " + std::to_string(q.fid));
  }
}

void eval_stacked(Module& g, const Checkpoint& ck, const EvalOptions& opt, EvalReport& r) {
  MnistSplits splits;  // loaded only when the classifier must be trained
  auto clf = classifier_for(ck, opt, r, &splits);
  r.modes_total = 1000;
  r.metrics = {column("modes", "modes", 1, 1), column("kl", "KL(p||U)", 1, 3), column("kl_digits", "KL digits", 1, 3)};
  for (int64_t s = 0; s < r.seeds; ++s) {
    Generator noise = seed_noise(s);
    std::vector<int32_t> labels;
    labels.reserve(static_cast<size_t>(r.samples));
    generate_batches(g, ck.config, r.samples, noise, opt.device, 500, [&](const Tensor& x) {
      const std::vector<int32_t> l = clf->predict_stacked(x);
      labels.insert(labels.end(), l.begin(), l.end());
    });
    const StackedMnistMetrics m = stacked_mnist_metrics(labels);
    r.metrics[0].per_seed.push_back(static_cast<double>(m.modes));
    r.metrics[1].per_seed.push_back(m.kl_uniform);
    r.metrics[2].per_seed.push_back(m.kl_digits);
    if (opt.log) {
      std::string line = "seed " + std::to_string(s) + ": " + std::to_string(m.modes) + " modes; digit % per channel";
      for (size_t c = 0; c < m.digit_counts.size(); ++c) {
        line += c ? " |" : ":";
        for (int64_t n : m.digit_counts[c]) {
          char b[16];
          std::snprintf(b, sizeof b, " %.1f", 100.0 * static_cast<double>(n) / static_cast<double>(m.samples));
          line += b;
        }
      }
      opt.log(line);
    }
  }
}

}  // namespace

EvalReport evaluate_checkpoint(const Checkpoint& ck, const EvalOptions& opt) {
  if (opt.samples < 0) throw Error("eval: the sample count must be positive, got " + std::to_string(opt.samples));
  if (opt.seeds < 0) throw Error("eval: the seed count must be positive, got " + std::to_string(opt.seeds));
  EvalReport r;
  r.checkpoint = ck.path;
  r.data = ck.config.data;
  r.step = ck.step;
  r.kind = eval_kind(ck.config.data);
  const bool image = r.kind != EvalKind::Mixture2d;
  r.samples = opt.samples > 0 ? opt.samples : r.kind == EvalKind::Mixture2d ? 2500 : r.kind == EvalKind::Mnist ? 1000 : 26000;
  r.seeds = opt.seeds > 0 ? opt.seeds : image ? 1 : 5;
  if (r.kind == EvalKind::Mnist && r.samples < 4)
    throw Error("eval: precision/recall with k = 3 need at least 4 samples, got " + std::to_string(r.samples));
  auto g = generator_from_checkpoint(ck, opt.ema, opt.device);
  switch (r.kind) {
    case EvalKind::Mixture2d: eval_2d(*g, ck, opt, r); break;
    case EvalKind::Mnist: eval_mnist(*g, ck, opt, r); break;
    case EvalKind::StackedMnist: eval_stacked(*g, ck, opt, r); break;
  }
  for (EvalMetric& m : r.metrics) m.summary = mean_se(m.per_seed);
  return r;
}

}  // namespace ganglion
