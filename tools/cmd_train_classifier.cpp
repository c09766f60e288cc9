// tools/cmd_train_classifier.cpp — `ganglion train-classifier`: trains the MNIST classifier behind the image
// metrics (gan/classifier.h) on the train-* digits of an MNIST folder, reports its accuracy on the held-out t10k-*
// digits, and saves it where `ganglion eval` looks for it (or -o FILE).
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <omp.h>

#include "gan/classifier.h"
#include "tools/commands.h"

namespace ganglion::tools {

namespace {
struct TrainClassifierArgs {
  std::string data_path, output, device = "auto";
  int epochs = 15, threads = 0;
  uint64_t seed = 0;
  bool force = false;
};

int run_train_classifier(const TrainClassifierArgs& a) {
  if (a.epochs < 1) throw Error("--epochs must be at least 1, got " + std::to_string(a.epochs));
  if (a.threads > 0) omp_set_num_threads(a.threads);
  const std::string out = a.output.empty() ? default_classifier_path() : a.output;
  if (std::filesystem::exists(out) && !a.force)
    throw Error("-o '" + out + "' already exists; pass --force to replace it");
  const MnistSplits data = load_mnist_splits(a.data_path);
  std::cout << "train-classifier: " << data.train.size() << " training and " << data.test.size()
            << " held-out digits from " << a.data_path << ", " << a.epochs << " epochs, seed " << a.seed << std::endl;
  ClassifierTrainOptions o;
  o.epochs = a.epochs;
  o.seed = a.seed;
  o.device = resolve_device(a.device);
  o.log = [](const std::string& line) { std::cout << line << std::endl; };
  if (std::filesystem::exists(out)) std::filesystem::remove(out);
  load_or_train_mnist_classifier(out, data.train, data.test, o);
  const auto model = MnistClassifier::load(out);
  std::printf("held-out accuracy %.4f (%lld digits); saved %s\n", model->test_accuracy,
              static_cast<long long>(data.test.size()), out.c_str());
  if (model->test_accuracy < 0.985)
    std::printf("note: below the 0.985 the metrics expect of a full MNIST classifier (more data or epochs?)\n");
  return 0;
}
}  // namespace

Command add_train_classifier(CLI::App& root) {
  auto a = std::make_shared<TrainClassifierArgs>();
  CLI::App* app = root.add_subcommand("train-classifier",
                                      "Train the MNIST classifier of the image metrics (used by `ganglion eval`)");
  app->add_option("--data-path", a->data_path, "MNIST folder with train-* and t10k-* IDX files (gzip or plain)")
      ->required();
  app->add_option("-o,--output", a->output, "Where to save it (default: " + default_classifier_path() + ")");
  app->add_option("--epochs", a->epochs, "Training epochs (default 15)");
  app->add_option("--seed", a->seed, "Random seed (initial weights, batches, augmentation)");
  app->add_option("--device", a->device, "auto | cpu | cuda");
  app->add_option("--threads", a->threads, "CPU threads (default: OpenMP's choice)");
  app->add_flag("--force", a->force, "Replace an existing file");
  return {app, [a] { return run_train_classifier(*a); }};
}

}  // namespace ganglion::tools
