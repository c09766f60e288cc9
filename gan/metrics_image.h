// gan/metrics_image.h — image-GAN quality metrics on classifier features [N, D] and predicted labels:
// FID_lenet (Fréchet distance of Gaussian fits, in double with our own Jacobi eigen-solver), KID (unbiased MMD^2
// with the cubic polynomial kernel, averaged over random subsets; Bińkowski et al. 2018), improved precision and
// recall (k-NN balls; Kynkäänniemi et al. 2019), class coverage and KL of the predicted class histogram, and the
// stacked-MNIST mode count with KL against uniform (PacGAN/VEEGAN protocol). Definitions and measured reference
// values: gan/METRICS.md.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "gan/classifier.h"

namespace ganglion {

// ---- Fréchet distance ----
struct FeatureStats {
  int64_t count = 0, dim = 0;
  std::vector<double> mean;  // D
  std::vector<double> cov;   // D x D row-major, unbiased (divides by N - 1)
};
// features [N, D] (any device), N >= 2; accumulated in double.
FeatureStats feature_stats(const Tensor& features);
// ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^{1/2}), the trace of the square root taken as
// sum_i sqrt(max(lambda_i, 0)) over the eigenvalues of S_a^{1/2} S_b S_a^{1/2} (similar to S_a S_b, symmetric PSD).
double frechet_distance(const FeatureStats& a, const FeatureStats& b);
// frechet_distance(feature_stats(a), feature_stats(b)) on MnistClassifier features.
double fid_lenet(const Tensor& features_a, const Tensor& features_b);

// ---- Kernel inception distance ----
struct KidOptions {
  int64_t subsets = 100;       // random subset pairs averaged (1 when both sets have subset_size samples or fewer)
  int64_t subset_size = 1000;  // clamped to min(N_a, N_b); drawn without replacement
  uint64_t seed = 0;
};
struct KidResult {
  double mean = 0.0, std = 0.0;  // over the subsets (std 0 for a single subset)
  int64_t subsets = 0, subset_size = 0;
};
// Per subset of m rows from each: [sum_{i!=j} k(a_i,a_j) + sum_{i!=j} k(b_i,b_j)] / (m(m-1)) - 2 sum k(a_i,b_j) / m^2
// with k(x, y) = (x.y / D + 1)^3. The dot products come from the ops matmul (float32); sums are in double.
KidResult kid(const Tensor& features_a, const Tensor& features_b, const KidOptions& opt = {});

// ---- Improved precision and recall ----
struct PrecisionRecall {
  double precision = 0.0;  // fraction of fake samples inside the k-NN ball of at least one real sample
  double recall = 0.0;     // fraction of real samples inside the k-NN ball of at least one fake sample
  int k = 3;
};
// The k-NN ball of a sample is centred on it with radius the distance to its k-th nearest neighbour in its own
// set (itself excluded). Needs more than k samples in each set. Distances from float32 dot products.
PrecisionRecall precision_recall(const Tensor& real_features, const Tensor& fake_features, int k = 3);

// ---- Class histograms ----
// Counts of each label in [0, classes); a label outside is an Error.
std::vector<int64_t> class_histogram(const std::vector<int32_t>& labels, int64_t classes);
// Fraction of the classes that received at least `min_count` predictions (default: predicted at least once).
double class_coverage(const std::vector<int64_t>& histogram, int64_t min_count = 1);
// KL(p || q) in nats between the normalised histograms; terms with p_i = 0 contribute 0, and p_i > 0 where
// q_i = 0 gives +infinity. Histograms of different lengths or with no counts are an Error.
double kl_divergence(const std::vector<int64_t>& p_counts, const std::vector<int64_t>& q_counts);

struct ClassMetrics {
  std::vector<int64_t> histogram;  // predicted classes of the generated samples
  double coverage = 0.0;      // fraction of classes with at least min_share * N / classes predictions
  double coverage_any = 0.0;  // fraction of classes predicted at least once (sensitive to classifier errors)
  double kl_to_data = 0.0;    // kl_divergence(histogram, data histogram)
};
// min_share 0.2: a class counts as covered when it gets a fifth of a uniform share or more (for 1,000 samples and
// 10 classes, 20 predictions), so that a collapsed generator is not credited with the few classes that the
// classifier's own errors scatter its samples into.
ClassMetrics class_metrics(const std::vector<int32_t>& predicted, const std::vector<int32_t>& data_labels,
                           int64_t classes = 10, double min_share = 0.2);

// ---- Stacked MNIST (1000 modes) ----
struct StackedMnistMetrics {
  int64_t samples = 0;
  int64_t modes = 0;        // labels 100*d0 + 10*d1 + d2 predicted at least once, out of 1000
  double kl_uniform = 0.0;  // KL(predicted label histogram || uniform over the 1000 modes), nats
  // The part of kl_uniform that the channels' digit frequencies explain: sum over the 3 channels of
  // KL(channel's digit histogram || uniform over 10). kl_uniform = kl_digits + the channels' dependence (their
  // multi-information), both >= 0; so kl_digits near kl_uniform means "too many of some digits", near 0 means
  // "digits fine, wrong combinations".
  double kl_digits = 0.0;
  std::array<std::array<int64_t, 10>, 3> digit_counts{};  // [channel][digit]
};
StackedMnistMetrics stacked_mnist_metrics(const std::vector<int32_t>& labels);
// Classifies each channel of images [N, 3, S, S] (the protocol uses N = 26,000).
StackedMnistMetrics stacked_mnist_metrics(MnistClassifier& classifier, const Tensor& images);

// ---- Everything at once for a 1-channel image set ----
struct ImageQuality {
  int64_t real_count = 0, fake_count = 0;
  double fid = 0.0;
  KidResult kid;
  PrecisionRecall pr;
  ClassMetrics classes;
};
// Features and predictions from `classifier`; the data histogram from real_labels, or from the classifier's
// predictions on real_images when real_labels is empty.
ImageQuality image_quality(MnistClassifier& classifier, const Tensor& real_images,
                           const std::vector<int32_t>& real_labels, const Tensor& fake_images,
                           const KidOptions& kid_opt = {}, int k = 3);

}  // namespace ganglion
