// benchmarks/quality/metric_reference.cpp — the reference values of gan/METRICS.md: the 2-D mode metrics of real
// mixture samples, uniform noise and collapsed sets (no data needed), then, on real MNIST, trains (or loads from
// --cache) the Ganglion MNIST classifier and prints every image metric for real-vs-real, real-vs-noise and a few
// degraded sets, as markdown tables.
//
//   metric_reference [--data DIR] [--cache FILE] [--epochs N] [--seed S] [--retrain] [--skip-stacked] [--only-2d]
//
// DIR holds train-images/labels-idx*-ubyte.gz (9,000) and t10k-*.gz (1,000); default /work/shared/data/mnist.
// FILE defaults to mnist_classifier.safetensors in the working directory; --retrain ignores an existing one.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/ops.h"
#include "core/rng.h"
#include "gan/classifier.h"
#include "gan/data2d.h"
#include "gan/eval_checkpoint.h"
#include "gan/metrics2d.h"
#include "gan/image_data.h"
#include "gan/metrics_image.h"

using namespace ganglion;

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The images of `ds` (and their labels) at the given indices.
ImageDataset subset(const ImageDataset& ds, const std::vector<int64_t>& idx, const std::string& name) {
  const int64_t plane = ds.images.numel() / ds.size();
  ImageDataset out;
  out.name = name;
  out.num_classes = ds.num_classes;
  Shape s = ds.images.shape();
  s[0] = static_cast<int64_t>(idx.size());
  out.images = Tensor::empty(s);
  for (size_t i = 0; i < idx.size(); ++i) {
    std::memcpy(out.images.data() + static_cast<int64_t>(i) * plane, ds.images.data() + idx[i] * plane,
                plane * sizeof(float));
    if (!ds.labels.empty()) out.labels.push_back(ds.labels[static_cast<size_t>(idx[i])]);
  }
  return out;
}

std::vector<int64_t> range(int64_t a, int64_t b) {
  std::vector<int64_t> v;
  for (int64_t i = a; i < b; ++i) v.push_back(i);
  return v;
}

void row(const char* name, const ImageQuality& q, double seconds) {
  std::printf("| %-44s | %5lld | %9.2f | %9.1f ± %6.1f | %5.3f | %5.3f | %4.2f / %4.2f | %6.4f | %4.1f |\n", name,
              static_cast<long long>(q.fake_count), q.fid, q.kid.mean, q.kid.std, q.pr.precision, q.pr.recall,
              q.classes.coverage, q.classes.coverage_any, q.classes.kl_to_data, seconds);
  std::fflush(stdout);
}

// The 2-D protocol (2,500 samples, 5 seeds, mean ± standard error) on sets with known structure.
void mixture_reference() {
  std::printf("2-D mixtures: 2,500 samples per seed, 5 seeds, mean ± standard error.\n\n");
  std::printf("| %-8s | %-44s | %15s | %15s | %17s |\n|----------|%s|----------------:|----------------:|------------------:|\n",
              "data", "samples", "modes", "HQ %", "reverse KL", std::string(46, '-').c_str());
  for (const char* name : {"ring8", "grid25"}) {
    const Mixture2d m = mixture2d(name);
    const float extent = name == std::string("ring8") ? 1.5f : 5.f;  // a box around every mode
    auto report = [&](const char* what, const std::function<std::vector<float>(Generator&)>& make) {
      std::vector<double> modes, hq, kl;
      for (uint64_t s = 0; s < 5; ++s) {
        Generator g(1000 + s);
        const ModeMetrics r = mode_metrics(make(g), m.means, m.std);
        modes.push_back(r.modes_captured), hq.push_back(100 * r.hq_fraction), kl.push_back(r.reverse_kl);
      }
      const MeanSe a = mean_se(modes), b = mean_se(hq), c = mean_se(kl);
      std::printf("| %-8s | %-44s | %6.2f ± %6.2f | %6.2f ± %6.2f | %7.4f ± %7.4f |\n", name, what, a.mean, a.se, b.mean,
                  b.se, c.mean, c.se);
    };
    report("real samples (real vs real)", [&](Generator& g) { return sample_mixture2d(m, 2500, g).to_vector(); });
    report("uniform noise over the data's box (vs noise)",
           [&](Generator& g) { return g.rand({2500, 2}, Device::cpu(), -extent, extent).to_vector(); });
    report("real samples of the first half of the modes", [&](Generator& g) {
      std::vector<float> xy = sample_mixture2d(m, 5000, g).to_vector(), kept;
      for (size_t i = 0; i + 1 < xy.size() && kept.size() < 5000; i += 2) {
        size_t best = 0;
        float bd = 1e30f;
        for (size_t k = 0; k < m.means.size(); ++k) {
          const float dx = xy[i] - m.means[k][0], dy = xy[i + 1] - m.means[k][1];
          if (dx * dx + dy * dy < bd) bd = dx * dx + dy * dy, best = k;
        }
        if (best < m.means.size() / 2) kept.push_back(xy[i]), kept.push_back(xy[i + 1]);
      }
      return kept;
    });
    report("real samples blurred to 3x the mode std", [&](Generator& g) {
      std::vector<float> xy = sample_mixture2d(m, 2500, g).to_vector();
      const std::vector<float> extra = g.randn({2500, 2}, Device::cpu(), 0.f, m.std * std::sqrt(8.f)).to_vector();
      for (size_t i = 0; i < xy.size(); ++i) xy[i] += extra[i];
      return xy;
    });
    report("all samples at one mode (collapse)", [&](Generator& g) {
      std::vector<float> xy = g.randn({2500, 2}, Device::cpu(), 0.f, m.std).to_vector();
      for (size_t i = 0; i < xy.size(); ++i) xy[i] += m.means[0][i % 2];
      return xy;
    });
  }
  std::printf("\n");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/work/shared/data/mnist", cache = "mnist_classifier.safetensors";
  ClassifierTrainOptions opt;
  bool retrain = false, stacked = true, only_2d = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "metric_reference: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--data") dir = value();
    else if (a == "--cache") cache = value();
    else if (a == "--epochs") opt.epochs = std::stoi(value());
    else if (a == "--seed") opt.seed = std::stoull(value());
    else if (a == "--retrain") retrain = true;
    else if (a == "--skip-stacked") stacked = false;
    else if (a == "--only-2d") only_2d = true;
    else {
      std::fprintf(stderr, "metric_reference: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  try {
    mixture_reference();
    if (only_2d) return 0;
    const ImageDataset train = load_mnist_dir(dir);
    const ImageDataset test = load_mnist(dir + "/t10k-images-idx3-ubyte.gz", dir + "/t10k-labels-idx1-ubyte.gz");
    std::printf("data: %lld train, %lld test digits from %s\n", static_cast<long long>(train.size()),
                static_cast<long long>(test.size()), dir.c_str());
    opt.log = [](const std::string& line) {
      std::printf("%s\n", line.c_str());
      std::fflush(stdout);
    };
    if (retrain && std::filesystem::exists(cache)) std::filesystem::remove(cache);
    auto clf = load_or_train_mnist_classifier(cache, train, test, opt);
    const double acc = clf->accuracy(test);
    std::printf("classifier: %s, held-out accuracy %.4f (%lld digits)", cache.c_str(), acc,
                static_cast<long long>(test.size()));
    if (auto it = clf->metadata.find("train_seconds"); it != clf->metadata.end())
      std::printf(", trained in %s s", it->second.c_str());
    std::printf("\n\n");

    // Sets compared against the 1,000 held-out test digits.
    Generator g(1234);
    const ImageDataset train1k = subset(train, range(0, 1000), "train[0:1000]");
    ImageDataset noise;
    noise.images = g.rand({1000, 1, 28, 28}, Device::cpu(), -1.f, 1.f);
    ImageDataset noisy;  // train digits 0-999 + N(0, 0.5) pixel noise, clamped
    noisy.images = clamp(add(train1k.images, g.randn({1000, 1, 28, 28}, Device::cpu(), 0.f, 0.5f)), -1.f, 1.f);
    std::vector<int64_t> ones_idx, low_idx;
    for (int64_t i = 0; i < train.size() && static_cast<int64_t>(ones_idx.size()) < 1000; ++i)
      if (train.labels[static_cast<size_t>(i)] == 1) ones_idx.push_back(i);
    for (int64_t i = 0; i < train.size() && static_cast<int64_t>(low_idx.size()) < 1000; ++i)
      if (train.labels[static_cast<size_t>(i)] < 5) low_idx.push_back(i);
    const ImageDataset ones = subset(train, ones_idx, "ones");
    const ImageDataset low = subset(train, low_idx, "digits 0-4");
    ImageDataset shifted = train1k;  // every digit moved 3 pixels right (background filled in)
    shifted.images = concat({full({1000, 1, 28, 3}, -1.f), slice(train1k.images, 3, 0, 25)}, 3);

    std::printf("Reference: the 1,000 held-out test digits. KID: %s.\n\n",
                "subsets of min(1000, N) (a single subset when both sets have 1,000)");
    std::printf("| %-44s | %5s | %9s | %18s | %5s | %5s | %11s | %6s | %4s |\n", "set vs test digits", "N", "FID_lenet",
                "KID (mean ± std)", "prec", "rec", "cover / any", "KL", "sec");
    std::printf("|%s|------:|----------:|-------------------:|------:|------:|------------:|-------:|-----:|\n",
                std::string(46, '-').c_str());
    auto measure = [&](const char* name, const ImageDataset& fake) {
      const double t0 = now_s();
      const ImageQuality q = image_quality(*clf, test.images, test.labels, fake.images);
      row(name, q, now_s() - t0);
    };
    measure("train digits 0-999 (real vs real)", train1k);
    measure("all 9,000 train digits (real vs real)", train);
    measure("train digits + N(0, 0.5) pixel noise", noisy);
    measure("train digits shifted 3 px right", shifted);
    measure("train digits of classes 0-4 only", low);
    measure("train digits of class 1 only (collapse)", ones);
    measure("uniform noise U(-1, 1) (real vs noise)", noise);

    if (stacked) {
      const double t0 = now_s();
      Generator gs(99);
      const ImageDataset st = make_stacked_mnist(test, 26000, gs);
      const StackedMnistMetrics real = stacked_mnist_metrics(*clf, st.images);
      const StackedMnistMetrics truth = stacked_mnist_metrics(st.labels);
      const ImageDataset st_low = make_stacked_mnist(low, 26000, gs);
      const StackedMnistMetrics low_m = stacked_mnist_metrics(*clf, st_low.images);
      Tensor st_noise = g.rand({26000, 3, 28, 28}, Device::cpu(), -1.f, 1.f);
      const StackedMnistMetrics noise_m = stacked_mnist_metrics(*clf, st_noise);
      std::printf("\nStacked MNIST, 26,000 samples, each channel classified (%.0f s):\n\n", now_s() - t0);
      std::printf("| %-44s | %5s | %10s |\n|%s|------:|-----------:|\n", "samples", "modes", "KL(p||U)",
                  std::string(46, '-').c_str());
      std::printf("| %-44s | %5lld | %10.4f |\n", "stacked test digits, true labels", static_cast<long long>(truth.modes),
                  truth.kl_uniform);
      std::printf("| %-44s | %5lld | %10.4f |\n", "stacked test digits, classifier labels",
                  static_cast<long long>(real.modes), real.kl_uniform);
      std::printf("| %-44s | %5lld | %10.4f |\n", "stacked digits of classes 0-4 only", static_cast<long long>(low_m.modes),
                  low_m.kl_uniform);
      std::printf("| %-44s | %5lld | %10.4f |\n", "uniform noise, 3 channels", static_cast<long long>(noise_m.modes),
                  noise_m.kl_uniform);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "metric_reference: %s\n", e.what());
    return 1;
  }
  return 0;
}
