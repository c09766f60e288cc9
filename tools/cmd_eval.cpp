// tools/cmd_eval.cpp — `ganglion eval`: the quality metrics of a checkpoint's generator (gan/eval_checkpoint.h),
// one row per noise seed and the mean ± standard error, as a table or JSON. 2-D mixtures: modes / HQ / reverse KL;
// mnist: FID_lenet, KID, precision/recall, class coverage and KL; stacked_mnist: modes out of 1,000 and KL.
// With --every-checkpoint, every checkpoint of a run folder in step order, one row each: the quality curve.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <omp.h>

#include "gan/eval_checkpoint.h"
#include "tools/commands.h"

namespace ganglion::tools {

namespace {
namespace fs = std::filesystem;

struct EvalArgs {
  std::string checkpoint, device = "auto", data_path, classifier;
  int64_t n = 0, seeds = 0;
  int classifier_epochs = 15, threads = 0;
  bool no_ema = false, json = false, every_checkpoint = false;
};

nlohmann::json report_json(const EvalReport& r) {
  nlohmann::json seeds = nlohmann::json::array(), mean, se;
  for (int64_t s = 0; s < r.seeds; ++s) {
    nlohmann::json row = {{"seed", s}};
    for (const EvalMetric& m : r.metrics) row[m.key] = m.per_seed[static_cast<size_t>(s)];
    seeds.push_back(row);
  }
  for (const EvalMetric& m : r.metrics) mean[m.key] = m.summary.mean, se[m.key] = m.summary.se;
  nlohmann::json out = {{"checkpoint", r.checkpoint}, {"step", r.step},          {"data", r.data},
                        {"kind", eval_kind_name(r.kind)}, {"samples", r.samples}, {"seed_count", r.seeds},
                        {"modes_total", r.modes_total}, {"seeds", seeds},        {"mean", mean},
                        {"se", se}};
  if (r.kind != EvalKind::Mixture2d) {
    out["classifier"] = r.classifier_path;
    out["classifier_test_accuracy"] = r.classifier_accuracy;
  }
  if (r.kind == EvalKind::Mnist) out["real_samples"] = r.real_count;
  return out;
}

void print_table(const EvalReport& r) {
  std::printf("%s (step %lld, %s): %lld samples per seed, %lld seed(s)\n", r.checkpoint.c_str(),
              static_cast<long long>(r.step), r.data.c_str(), static_cast<long long>(r.samples),
              static_cast<long long>(r.seeds));
  if (r.kind != EvalKind::Mixture2d)
    std::printf("classifier: %s (held-out accuracy %.4f)\n", r.classifier_path.c_str(), r.classifier_accuracy);
  if (r.kind == EvalKind::Mnist)
    std::printf("against the %lld held-out test digits of the data folder\n", static_cast<long long>(r.real_count));
  if (r.kind != EvalKind::Mnist) std::printf("modes in the data: %lld\n", static_cast<long long>(r.modes_total));
  std::printf("%6s", "seed");
  for (const EvalMetric& m : r.metrics) std::printf(" %12s", m.label.c_str());
  std::printf("\n");
  for (int64_t s = 0; s < r.seeds; ++s) {
    std::printf("%6lld", static_cast<long long>(s));
    for (const EvalMetric& m : r.metrics)
      std::printf(" %12.*f", m.decimals, m.print_scale * m.per_seed[static_cast<size_t>(s)]);
    std::printf("\n");
  }
  std::printf("%6s", "mean");
  for (const EvalMetric& m : r.metrics) std::printf(" %12.*f", m.decimals, m.print_scale * m.summary.mean);
  std::printf("\n%6s", "± se");
  for (const EvalMetric& m : r.metrics) std::printf(" %12.*f", m.decimals, m.print_scale * m.summary.se);
  std::printf("\n");
}

// --every-checkpoint: one row per checkpoint (step, then each metric's mean over the seeds).
void print_curve(const std::string& run_dir, const std::vector<EvalReport>& reports) {
  const EvalReport& first = reports.front();
  std::printf("%s (%s): %zu checkpoint(s), %lld samples per seed, %lld seed(s); mean over the seeds\n",
              run_dir.c_str(), first.data.c_str(), reports.size(), static_cast<long long>(first.samples),
              static_cast<long long>(first.seeds));
  if (first.kind != EvalKind::Mixture2d)
    std::printf("classifier: %s (held-out accuracy %.4f)\n", first.classifier_path.c_str(), first.classifier_accuracy);
  std::printf("%10s", "step");
  for (const EvalMetric& m : first.metrics) std::printf(" %12s", m.label.c_str());
  std::printf("\n");
  for (const EvalReport& r : reports) {
    std::printf("%10lld", static_cast<long long>(r.step));
    for (const EvalMetric& m : r.metrics) std::printf(" %12.*f", m.decimals, m.print_scale * m.summary.mean);
    std::printf("\n");
  }
}

EvalOptions eval_options(const EvalArgs& a) {
  EvalOptions o;
  o.samples = a.n;
  o.seeds = a.seeds;
  o.ema = !a.no_ema;
  o.device = resolve_device(a.device);
  o.data_path = a.data_path;
  o.classifier_path = a.classifier;
  o.classifier_train.epochs = a.classifier_epochs;
  o.classifier_train.device = o.device;
  o.log = [](const std::string& line) { std::cerr << line << std::endl; };  // stdout keeps the table / JSON
  return o;
}

int run_eval_every_checkpoint(const EvalArgs& a) {
  if (!fs::is_directory(a.checkpoint))
    throw Error("--every-checkpoint needs a run folder, not '" + a.checkpoint + "'");
  const std::vector<std::string> files = list_checkpoints(a.checkpoint);
  if (files.empty()) throw Error("--every-checkpoint: no checkpoints in '" + a.checkpoint + "/checkpoints'");
  const EvalOptions o = eval_options(a);
  std::vector<EvalReport> reports;
  for (const std::string& f : files) {
    o.log("evaluating " + f);
    reports.push_back(evaluate_checkpoint(read_checkpoint(f), o));
  }
  if (a.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const EvalReport& r : reports) list.push_back(report_json(r));
    std::cout << nlohmann::json{{"run", a.checkpoint}, {"checkpoints", list}}.dump(2) << "\n";
  } else {
    print_curve(a.checkpoint, reports);
  }
  return 0;
}

int run_eval(const EvalArgs& a) {
  if (a.n < 0 || a.seeds < 0) throw Error("-n and --seeds must be positive");
  if (a.classifier_epochs < 1) throw Error("--classifier-epochs must be at least 1");
  if (a.threads > 0) omp_set_num_threads(a.threads);
  if (a.every_checkpoint) return run_eval_every_checkpoint(a);
  const EvalReport r = evaluate_checkpoint(read_checkpoint(resolve_checkpoint(a.checkpoint)), eval_options(a));
  if (a.json) std::cout << report_json(r).dump(2) << "\n";
  else print_table(r);
  return 0;
}
}  // namespace

Command add_eval(CLI::App& root) {
  auto a = std::make_shared<EvalArgs>();
  CLI::App* app = root.add_subcommand(
      "eval", "Quality metrics of a checkpoint (2-D: modes/HQ/reverse KL; mnist: FID_lenet, KID, precision/recall, "
              "class coverage/KL; stacked_mnist: modes/KL), per noise seed with mean ± standard error");
  app->add_option("checkpoint", a->checkpoint, "A run folder (its newest checkpoint) or a checkpoint file")->required();
  app->add_option("-n,--num", a->n, "Samples per seed (default: 2500 for 2-D, 1000 for mnist, 26000 for stacked_mnist)");
  app->add_option("--seeds", a->seeds, "Number of noise seeds (default: 5 for 2-D, 1 for images)");
  app->add_option("--data-path", a->data_path,
                  "Image runs: the MNIST folder (train-* and t10k-* IDX files); default: the run's own");
  app->add_option("--classifier", a->classifier,
                  "Image runs: the MNIST classifier file, trained there on first use (default: " +
                      default_classifier_path() + ")");
  app->add_option("--classifier-epochs", a->classifier_epochs, "Epochs when the classifier must be trained (default 15)");
  app->add_option("--device", a->device, "auto | cpu | cuda");
  app->add_option("--threads", a->threads, "CPU threads (default: OpenMP's choice)");
  app->add_flag("--no-ema", a->no_ema, "Use the raw generator even when an EMA copy exists");
  app->add_flag("--json", a->json, "Print JSON");
  app->add_flag("--every-checkpoint", a->every_checkpoint,
                "Evaluate every checkpoint of the run folder, oldest first: one row per step (the mean over the "
                "seeds), or with --json a list of reports");
  return {app, [a] { return run_eval(*a); }};
}

}  // namespace ganglion::tools
