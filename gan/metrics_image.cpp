// gan/metrics_image.cpp — FID_lenet, KID, improved precision/recall, class histograms and the stacked-MNIST mode
// count (see gan/metrics_image.h and gan/METRICS.md).
#include "gan/metrics_image.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <string>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/rng.h"
#include "gan/linalg_small.h"

namespace ganglion {

namespace {

// features as a detached CPU [N, D] tensor, after checking the shape.
Tensor host_features(const Tensor& f, const char* what, int64_t min_rows) {
  if (!f.defined() || f.dim() != 2 || f.dtype() != DType::F32)
    throw Error(std::string(what) + ": expected float features [N, D], got " +
                (f.defined() ? shape_str(f.shape()) : std::string("an undefined tensor")));
  if (f.size(0) < min_rows || f.size(1) < 1)
    throw Error(std::string(what) + ": needs at least " + std::to_string(min_rows) + " samples of dimension >= 1, got " +
                shape_str(f.shape()));
  return f.detach().to(Device::cpu());
}

void check_same_dim(const Tensor& a, const Tensor& b, const char* what) {
  if (a.size(1) != b.size(1))
    throw Error(std::string(what) + ": feature dimensions differ: " + shape_str(a.shape()) + " vs " +
                shape_str(b.shape()));
}

std::vector<double> row_sq_norms(const Tensor& f) {
  const int64_t N = f.size(0), D = f.size(1);
  const float* p = f.data();
  std::vector<double> n(static_cast<size_t>(N), 0.0);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t d = 0; d < D; ++d) n[static_cast<size_t>(i)] += static_cast<double>(p[i * D + d]) * p[i * D + d];
  return n;
}

// Calls fn(i, d2) for every row i of a, with d2[j] the squared distance from a_i to b_j (a row-block of
// |a|^2 + |b|^2 - 2 a.b at a time, the dot products from the float32 matmul, clamped at 0).
void for_each_distance_row(const Tensor& a, const Tensor& b, const std::function<void(int64_t, const std::vector<double>&)>& fn) {
  NoGradGuard no_grad;
  const std::vector<double> na = row_sq_norms(a), nb = row_sq_norms(b);
  const int64_t Na = a.size(0), Nb = b.size(0);
  const int64_t block = std::max<int64_t>(1, (int64_t{1} << 22) / std::max<int64_t>(1, Nb));  // ~16 MB of dots
  std::vector<double> d2(static_cast<size_t>(Nb));
  for (int64_t i0 = 0; i0 < Na; i0 += block) {
    const int64_t i1 = std::min(Na, i0 + block);
    const Tensor dots = matmul(slice(a, 0, i0, i1), b, false, true);
    const float* dp = dots.data();
    for (int64_t i = i0; i < i1; ++i) {
      for (int64_t j = 0; j < Nb; ++j)
        d2[static_cast<size_t>(j)] =
            std::max(0.0, na[static_cast<size_t>(i)] + nb[static_cast<size_t>(j)] - 2.0 * dp[(i - i0) * Nb + j]);
      fn(i, d2);
    }
  }
}

// Squared radius of each sample's k-NN ball within its own set (the k-th smallest distance, itself excluded).
std::vector<double> knn_radii_sq(const Tensor& f, int k) {
  std::vector<double> r(static_cast<size_t>(f.size(0)));
  for_each_distance_row(f, f, [&](int64_t i, const std::vector<double>& d2) {
    std::vector<double> row = d2;
    row[static_cast<size_t>(i)] = -1.0;  // itself first, whatever rounding did to its distance
    std::nth_element(row.begin(), row.begin() + k, row.end());
    r[static_cast<size_t>(i)] = row[static_cast<size_t>(k)];
  });
  return r;
}

// Fraction of the rows of `query` lying in at least one k-NN ball of `ref` (balls of squared radius radii_sq).
double fraction_inside_balls(const Tensor& query, const Tensor& ref, const std::vector<double>& radii_sq) {
  int64_t inside = 0;
  for_each_distance_row(query, ref, [&](int64_t, const std::vector<double>& d2) {
    for (size_t j = 0; j < d2.size(); ++j)
      if (d2[j] <= radii_sq[j]) {
        ++inside;
        break;
      }
  });
  return static_cast<double>(inside) / static_cast<double>(query.size(0));
}

// The first m entries of a seeded random permutation of [0, n) (partial Fisher-Yates).
std::vector<int64_t> random_subset(int64_t n, int64_t m, Generator& g) {
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[static_cast<size_t>(i)] = i;
  for (int64_t i = 0; i < m; ++i) {
    const int64_t j = i + static_cast<int64_t>(g.next_index(static_cast<uint64_t>(n - i)));
    std::swap(idx[static_cast<size_t>(i)], idx[static_cast<size_t>(j)]);
  }
  idx.resize(static_cast<size_t>(m));
  return idx;
}

Tensor gather_rows(const Tensor& f, const std::vector<int64_t>& rows) {
  const int64_t D = f.size(1);
  Tensor out = Tensor::empty({static_cast<int64_t>(rows.size()), D});
  for (size_t i = 0; i < rows.size(); ++i)
    std::memcpy(out.data() + static_cast<int64_t>(i) * D, f.data() + rows[i] * D, D * sizeof(float));
  return out;
}

// Sum of (x.y/D + 1)^3 over the gram matrix of a and b; with skip_diagonal the i == j terms are left out.
double cubic_kernel_sum(const Tensor& a, const Tensor& b, bool skip_diagonal) {
  NoGradGuard no_grad;
  const Tensor dots = matmul(a, b, false, true);
  const int64_t M = dots.size(0), N = dots.size(1);
  const double inv_d = 1.0 / static_cast<double>(a.size(1));
  const float* p = dots.data();
  double s = 0.0;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      if (skip_diagonal && i == j) continue;
      const double k = p[i * N + j] * inv_d + 1.0;
      s += k * k * k;
    }
  return s;
}

}  // namespace

FeatureStats feature_stats(const Tensor& features) {
  const Tensor f = host_features(features, "feature_stats", 2);
  const int64_t N = f.size(0), D = f.size(1);
  FeatureStats s;
  s.count = N;
  s.dim = D;
  s.mean.assign(static_cast<size_t>(D), 0.0);
  s.cov.assign(static_cast<size_t>(D * D), 0.0);
  const float* p = f.data();
  for (int64_t i = 0; i < N; ++i)
    for (int64_t d = 0; d < D; ++d) s.mean[static_cast<size_t>(d)] += p[i * D + d];
  for (double& m : s.mean) m /= static_cast<double>(N);
  std::vector<double> c(static_cast<size_t>(D));
  for (int64_t i = 0; i < N; ++i) {
    for (int64_t d = 0; d < D; ++d) c[static_cast<size_t>(d)] = p[i * D + d] - s.mean[static_cast<size_t>(d)];
    for (int64_t r = 0; r < D; ++r) {
      const double cr = c[static_cast<size_t>(r)];
      if (cr == 0.0) continue;
      double* row = s.cov.data() + r * D;
      for (int64_t q = r; q < D; ++q) row[q] += cr * c[static_cast<size_t>(q)];
    }
  }
  for (int64_t r = 0; r < D; ++r)
    for (int64_t q = r; q < D; ++q) {
      const double v = s.cov[static_cast<size_t>(r * D + q)] / static_cast<double>(N - 1);
      s.cov[static_cast<size_t>(r * D + q)] = s.cov[static_cast<size_t>(q * D + r)] = v;
    }
  return s;
}

double frechet_distance(const FeatureStats& a, const FeatureStats& b) {
  const int64_t D = a.dim;
  if (D < 1 || b.dim != D || static_cast<int64_t>(a.mean.size()) != D || static_cast<int64_t>(b.mean.size()) != D ||
      static_cast<int64_t>(a.cov.size()) != D * D || static_cast<int64_t>(b.cov.size()) != D * D)
    throw Error("frechet_distance: statistics of different or inconsistent dimensions (" + std::to_string(a.dim) +
                " vs " + std::to_string(b.dim) + ")");
  double mean_term = 0.0, trace = 0.0;
  for (int64_t d = 0; d < D; ++d) {
    const double diff = a.mean[static_cast<size_t>(d)] - b.mean[static_cast<size_t>(d)];
    mean_term += diff * diff;
    trace += a.cov[static_cast<size_t>(d * D + d)] + b.cov[static_cast<size_t>(d * D + d)];
  }
  const std::vector<double> root_a = sqrt_psd(a.cov, D);
  const std::vector<double> m = matmul_square(matmul_square(root_a, b.cov, D), root_a, D);
  double trace_sqrt = 0.0;
  for (double lambda : symmetric_eigen(m, D).values) trace_sqrt += std::sqrt(std::max(lambda, 0.0));
  return mean_term + trace - 2.0 * trace_sqrt;
}

double fid_lenet(const Tensor& features_a, const Tensor& features_b) {
  return frechet_distance(feature_stats(features_a), feature_stats(features_b));
}

KidResult kid(const Tensor& features_a, const Tensor& features_b, const KidOptions& opt) {
  const Tensor a = host_features(features_a, "kid", 2), b = host_features(features_b, "kid", 2);
  check_same_dim(a, b, "kid");
  const int64_t Na = a.size(0), Nb = b.size(0);
  KidResult r;
  r.subset_size = std::max<int64_t>(2, std::min({opt.subset_size, Na, Nb}));
  r.subsets = (r.subset_size == Na && r.subset_size == Nb) ? 1 : std::max<int64_t>(1, opt.subsets);
  const double m = static_cast<double>(r.subset_size);
  Generator g(opt.seed);
  std::vector<double> values;
  for (int64_t s = 0; s < r.subsets; ++s) {
    const Tensor x = r.subset_size == Na ? a : gather_rows(a, random_subset(Na, r.subset_size, g));
    const Tensor y = r.subset_size == Nb ? b : gather_rows(b, random_subset(Nb, r.subset_size, g));
    const double within = cubic_kernel_sum(x, x, true) + cubic_kernel_sum(y, y, true);
    values.push_back(within / (m * (m - 1.0)) - 2.0 * cubic_kernel_sum(x, y, false) / (m * m));
  }
  for (double v : values) r.mean += v;
  r.mean /= static_cast<double>(values.size());
  if (values.size() > 1) {
    for (double v : values) r.std += (v - r.mean) * (v - r.mean);
    r.std = std::sqrt(r.std / static_cast<double>(values.size() - 1));
  }
  return r;
}

PrecisionRecall precision_recall(const Tensor& real_features, const Tensor& fake_features, int k) {
  if (k < 1) throw Error("precision_recall: k must be >= 1, got " + std::to_string(k));
  const Tensor real = host_features(real_features, "precision_recall (real)", k + 1);
  const Tensor fake = host_features(fake_features, "precision_recall (fake)", k + 1);
  check_same_dim(real, fake, "precision_recall");
  PrecisionRecall r;
  r.k = k;
  r.precision = fraction_inside_balls(fake, real, knn_radii_sq(real, k));
  r.recall = fraction_inside_balls(real, fake, knn_radii_sq(fake, k));
  return r;
}

std::vector<int64_t> class_histogram(const std::vector<int32_t>& labels, int64_t classes) {
  if (classes < 1) throw Error("class_histogram: classes must be >= 1, got " + std::to_string(classes));
  std::vector<int64_t> h(static_cast<size_t>(classes), 0);
  for (int32_t y : labels) {
    if (y < 0 || y >= classes)
      throw Error("class_histogram: label " + std::to_string(y) + " outside [0, " + std::to_string(classes) + ")");
    ++h[static_cast<size_t>(y)];
  }
  return h;
}

double class_coverage(const std::vector<int64_t>& histogram, int64_t min_count) {
  if (histogram.empty()) throw Error("class_coverage: empty histogram");
  int64_t covered = 0;
  for (int64_t c : histogram) covered += c >= std::max<int64_t>(1, min_count);
  return static_cast<double>(covered) / static_cast<double>(histogram.size());
}

double kl_divergence(const std::vector<int64_t>& p_counts, const std::vector<int64_t>& q_counts) {
  if (p_counts.size() != q_counts.size() || p_counts.empty())
    throw Error("kl_divergence: histograms of " + std::to_string(p_counts.size()) + " and " +
                std::to_string(q_counts.size()) + " bins");
  double np = 0.0, nq = 0.0;
  for (size_t i = 0; i < p_counts.size(); ++i) {
    if (p_counts[i] < 0 || q_counts[i] < 0) throw Error("kl_divergence: negative count");
    np += static_cast<double>(p_counts[i]);
    nq += static_cast<double>(q_counts[i]);
  }
  if (np <= 0.0 || nq <= 0.0) throw Error("kl_divergence: a histogram with no counts");
  double kl = 0.0;
  for (size_t i = 0; i < p_counts.size(); ++i) {
    if (p_counts[i] == 0) continue;
    if (q_counts[i] == 0) return std::numeric_limits<double>::infinity();
    const double p = static_cast<double>(p_counts[i]) / np, q = static_cast<double>(q_counts[i]) / nq;
    kl += p * std::log(p / q);
  }
  return std::max(0.0, kl);
}

ClassMetrics class_metrics(const std::vector<int32_t>& predicted, const std::vector<int32_t>& data_labels,
                           int64_t classes, double min_share) {
  ClassMetrics m;
  m.histogram = class_histogram(predicted, classes);
  const double share = static_cast<double>(predicted.size()) / static_cast<double>(classes);
  m.coverage = class_coverage(m.histogram, static_cast<int64_t>(std::ceil(min_share * share)));
  m.coverage_any = class_coverage(m.histogram, 1);
  m.kl_to_data = kl_divergence(m.histogram, class_histogram(data_labels, classes));
  return m;
}

StackedMnistMetrics stacked_mnist_metrics(const std::vector<int32_t>& labels) {
  StackedMnistMetrics m;
  m.samples = static_cast<int64_t>(labels.size());
  const std::vector<int64_t> h = class_histogram(labels, 1000);
  m.modes = 0;
  for (int64_t c : h) m.modes += c > 0;
  m.kl_uniform = kl_divergence(h, std::vector<int64_t>(h.size(), 1));
  for (int64_t label = 0; label < 1000; ++label) {
    const int64_t n = h[static_cast<size_t>(label)];
    m.digit_counts[0][static_cast<size_t>(label / 100)] += n;
    m.digit_counts[1][static_cast<size_t>(label / 10 % 10)] += n;
    m.digit_counts[2][static_cast<size_t>(label % 10)] += n;
  }
  for (const auto& channel : m.digit_counts)
    m.kl_digits += kl_divergence(std::vector<int64_t>(channel.begin(), channel.end()), std::vector<int64_t>(10, 1));
  return m;
}

StackedMnistMetrics stacked_mnist_metrics(MnistClassifier& classifier, const Tensor& images) {
  return stacked_mnist_metrics(classifier.predict_stacked(images));
}

ImageQuality image_quality(MnistClassifier& classifier, const Tensor& real_images,
                           const std::vector<int32_t>& real_labels, const Tensor& fake_images,
                           const KidOptions& kid_opt, int k) {
  ImageQuality q;
  Tensor fr, ff;
  std::vector<int32_t> predicted_real, predicted_fake;
  classifier.infer(real_images, &fr, real_labels.empty() ? &predicted_real : nullptr);
  classifier.infer(fake_images, &ff, &predicted_fake);
  q.real_count = fr.size(0);
  q.fake_count = ff.size(0);
  q.fid = fid_lenet(fr, ff);
  q.kid = kid(fr, ff, kid_opt);
  q.pr = precision_recall(fr, ff, k);
  q.classes = class_metrics(predicted_fake, real_labels.empty() ? predicted_real : real_labels,
                            MnistClassifier::kClasses);
  return q;
}

}  // namespace ganglion
