// tests/test_gan_metrics_image.cpp — the image-quality metrics against analytic values (FID of shifted and of
// diagonal/co-diagonal Gaussians, KID near 0 for one distribution, precision = recall = 1 for one set), class
// histograms, coverage and KL, stacked-MNIST mode counting, the Jacobi eigen-solver, and the MNIST classifier on a
// tiny synthetic 2-class problem (training, features, stacked prediction, save/load). No files outside /tmp.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include "core/ops.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "gan/classifier.h"
#include "gan/linalg_small.h"
#include "gan/metrics_image.h"

using namespace ganglion;

namespace {

// A random rotation-like orthonormal n x n matrix: the eigenvectors of a random symmetric matrix.
std::vector<double> random_orthonormal(int64_t n, uint64_t seed) {
  const std::vector<float> r = Generator(seed).randn({n, n}).to_vector();
  std::vector<double> s(static_cast<size_t>(n * n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) s[i * n + j] = r[i * n + j] + r[j * n + i];
  return symmetric_eigen(s, n).vectors;
}

// V diag(d) V^T.
std::vector<double> compose(const std::vector<double>& v, const std::vector<double>& d, int64_t n) {
  std::vector<double> a(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t k = 0; k < n; ++k) a[i * n + j] += v[i * n + k] * d[k] * v[j * n + k];
  return a;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0.0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

FeatureStats stats_of(const std::vector<double>& mean, const std::vector<double>& cov) {
  FeatureStats s;
  s.dim = static_cast<int64_t>(mean.size());
  s.count = 1000;
  s.mean = mean;
  s.cov = cov;
  return s;
}

// Tiny 2-class "digits": class 0 a bright 8x8 square on the left half, class 1 on the right, at a random height,
// over a noisy dark background, in [-1, 1].
ImageDataset two_class_images(int64_t n, uint64_t seed) {
  Generator g(seed);
  ImageDataset ds;
  ds.name = "two-class";
  ds.num_classes = 2;
  ds.images = g.rand({n, 1, 28, 28}, Device::cpu(), -1.f, -0.6f);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t label = static_cast<int32_t>(i % 2);
    const int64_t top = 4 + static_cast<int64_t>(g.next_index(12)), left = label == 0 ? 3 : 17;
    for (int64_t y = top; y < top + 8; ++y)
      for (int64_t x = left; x < left + 8; ++x) ds.images.data()[i * 784 + y * 28 + x] = 1.f;
    ds.labels.push_back(label);
  }
  return ds;
}

}  // namespace

TEST_CASE("symmetric_eigen: a known tridiagonal matrix and a random one", "[metrics_image]") {
  // [[2,1,0],[1,2,1],[0,1,2]]: eigenvalues 2 - sqrt2, 2, 2 + sqrt2.
  const std::vector<double> a = {2, 1, 0, 1, 2, 1, 0, 1, 2};
  const SymmetricEigen e = symmetric_eigen(a, 3);
  REQUIRE(e.values.size() == 3);
  CHECK(e.values[0] == Approx(2 - std::sqrt(2.0)).epsilon(1e-12));
  CHECK(e.values[1] == Approx(2.0).epsilon(1e-12));
  CHECK(e.values[2] == Approx(2 + std::sqrt(2.0)).epsilon(1e-12));
  // The eigenvector of 2 is (1, 0, -1)/sqrt2 up to sign.
  CHECK(std::abs(e.vectors[0 * 3 + 1]) == Approx(1 / std::sqrt(2.0)).epsilon(1e-10));
  CHECK(std::abs(e.vectors[1 * 3 + 1]) < 1e-10);

  // A random 40 x 40 symmetric matrix with known spectrum: V diag(d) V^T is reconstructed and sorted.
  const int64_t n = 40;
  const std::vector<double> v = random_orthonormal(n, 7);
  std::vector<double> d(n);
  for (int64_t i = 0; i < n; ++i) d[i] = -3.0 + 0.25 * static_cast<double>((i * 17) % n);
  const SymmetricEigen r = symmetric_eigen(compose(v, d, n), n);
  std::vector<double> sorted = d;
  std::sort(sorted.begin(), sorted.end());
  CHECK(max_abs_diff(r.values, sorted) < 1e-10);
  CHECK(max_abs_diff(compose(r.vectors, r.values, n), compose(v, d, n)) < 1e-10);
  CHECK(r.sweeps < 20);

  // sqrt_psd squares back; a bad size is an Error.
  std::vector<double> pos(n);
  for (int64_t i = 0; i < n; ++i) pos[i] = 0.1 + static_cast<double>(i);
  const std::vector<double> s = compose(v, pos, n), root = sqrt_psd(s, n);
  CHECK(max_abs_diff(matmul_square(root, root, n), s) < 1e-9);
  CHECK_THROWS_AS(symmetric_eigen({1, 2, 3}, 2), Error);
}

TEST_CASE("fid_lenet: identical sets give 0, a shifted copy gives |dmu|^2", "[metrics_image]") {
  const Tensor a = Generator(1).randn({600, 16}, Device::cpu(), 0.5f, 2.f);
  const FeatureStats sa = feature_stats(a);
  double trace = 0.0;
  for (int64_t d = 0; d < 16; ++d) trace += sa.cov[d * 16 + d];
  CHECK(std::abs(fid_lenet(a, a)) < 1e-6 * trace);

  std::vector<float> delta(16);
  double want = 0.0;
  for (int64_t d = 0; d < 16; ++d) {
    delta[d] = 0.25f * static_cast<float>(d % 5) - 0.5f;
    want += static_cast<double>(delta[d]) * delta[d];
  }
  const Tensor b = add(a, from_vector(delta, {1, 16}));
  CHECK(fid_lenet(a, b) == Approx(want).epsilon(1e-4));
  CHECK_THROWS_AS(fid_lenet(a, slice(a, 1, 0, 8)), Error);
  CHECK_THROWS_AS(feature_stats(slice(a, 0, 0, 1)), Error);
}

TEST_CASE("frechet_distance: analytic Gaussians (diagonal and co-diagonal covariances)", "[metrics_image]") {
  // Diagonal: sum (s1 - s2)^2 + |dmu|^2.
  const int64_t D = 6;
  std::vector<double> s1 = {1, 2, 0.5, 3, 1, 0.1}, s2 = {2, 2, 1.5, 0.5, 1, 0.3};
  std::vector<double> c1(D * D, 0.0), c2(D * D, 0.0), m1(D, 0.0), m2(D, 0.0);
  double want = 0.0;
  for (int64_t i = 0; i < D; ++i) {
    c1[i * D + i] = s1[i] * s1[i];
    c2[i * D + i] = s2[i] * s2[i];
    m2[i] = 0.1 * static_cast<double>(i);
    want += (s1[i] - s2[i]) * (s1[i] - s2[i]) + m2[i] * m2[i];
  }
  CHECK(frechet_distance(stats_of(m1, c1), stats_of(m2, c2)) == Approx(want).epsilon(1e-10));

  // The same in a rotated basis (commuting covariances V diag V^T): the rotation must not matter.
  const std::vector<double> v = random_orthonormal(D, 3);
  std::vector<double> var1(D), var2(D);
  for (int64_t i = 0; i < D; ++i) var1[i] = s1[i] * s1[i], var2[i] = s2[i] * s2[i];
  CHECK(frechet_distance(stats_of(m1, compose(v, var1, D)), stats_of(m2, compose(v, var2, D))) ==
        Approx(want).epsilon(1e-9));

  // Sampled: N(0, 1) vs N(0, 4) in 4 dimensions -> 4 * (1 - 2)^2 = 4, up to sampling error.
  const Tensor x = Generator(5).randn({20000, 4}), y = Generator(6).randn({20000, 4}, Device::cpu(), 0.f, 2.f);
  CHECK(fid_lenet(x, y) == Approx(4.0).epsilon(0.05));
}

TEST_CASE("kid: near 0 for one distribution, positive for a shifted one", "[metrics_image]") {
  const Tensor a = Generator(11).randn({2000, 16}), b = Generator(12).randn({2000, 16});
  const Tensor shifted = add_scalar(Generator(13).randn({2000, 16}), 0.5f);
  const KidOptions opt{.subsets = 10, .subset_size = 500, .seed = 1};
  const KidResult same = kid(a, b, opt), apart = kid(a, shifted, opt);
  CHECK(same.subsets == 10);
  CHECK(same.subset_size == 500);
  CHECK(std::abs(same.mean) < 0.01);
  CHECK(same.std > 0.0);
  CHECK(apart.mean > 0.05);
  CHECK(apart.mean > 10 * std::abs(same.mean));
  // Sets no larger than subset_size: one subset, the whole sets, against the estimator written out in double.
  const int64_t m = 100, D = 16;
  const Tensor x = slice(a, 0, 0, m), y = slice(shifted, 0, 0, m);
  const std::vector<float> xv = x.to_vector(), yv = y.to_vector();
  auto k = [&](const std::vector<float>& p, int64_t i, const std::vector<float>& q, int64_t j) {
    double dot = 0.0;
    for (int64_t d = 0; d < D; ++d) dot += static_cast<double>(p[i * D + d]) * q[j * D + d];
    return std::pow(dot / D + 1.0, 3);
  };
  double within = 0.0, cross = 0.0;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < m; ++j) {
      if (i != j) within += k(xv, i, xv, j) + k(yv, i, yv, j);
      cross += k(xv, i, yv, j);
    }
  const double want = within / (m * (m - 1.0)) - 2.0 * cross / (m * m);
  const KidResult one = kid(x, y, {.subset_size = 1000});
  CHECK(one.subsets == 1);
  CHECK(one.subset_size == m);
  CHECK(one.std == 0.0);
  CHECK(one.mean == Approx(want).epsilon(1e-5));
}

TEST_CASE("precision_recall: identical sets give 1, disjoint ones 0, half coverage in between", "[metrics_image]") {
  const Tensor a = Generator(21).randn({400, 8});
  const PrecisionRecall same = precision_recall(a, a, 3);
  CHECK(same.precision == 1.0);
  CHECK(same.recall == 1.0);
  CHECK(same.k == 3);

  const Tensor far = add_scalar(Generator(22).randn({400, 8}), 100.f);
  const PrecisionRecall apart = precision_recall(a, far, 3);
  CHECK(apart.precision == 0.0);
  CHECK(apart.recall == 0.0);

  // Fakes = the first half of the real set, twice over (mode dropping): every fake is real (precision 1), but
  // only about half of the real samples are covered.
  const Tensor half = slice(a, 0, 0, 200);
  const PrecisionRecall dropped = precision_recall(a, concat({half, half}, 0), 3);
  CHECK(dropped.precision == 1.0);
  CHECK(dropped.recall > 0.45);
  CHECK(dropped.recall < 0.9);
  CHECK_THROWS_AS(precision_recall(slice(a, 0, 0, 3), a, 3), Error);
}

TEST_CASE("class histograms: coverage and KL for a collapsed generator", "[metrics_image]") {
  std::vector<int32_t> data;
  for (int i = 0; i < 1000; ++i) data.push_back(i % 10);
  const std::vector<int32_t> collapsed(500, 7);
  const ClassMetrics c = class_metrics(collapsed, data, 10);
  CHECK(c.histogram[7] == 500);
  CHECK(c.coverage == Approx(0.1));
  CHECK(c.coverage_any == Approx(0.1));
  CHECK(c.kl_to_data == Approx(std::log(10.0)));

  const ClassMetrics all = class_metrics(data, data, 10);
  CHECK(all.coverage == 1.0);
  CHECK(all.kl_to_data == Approx(0.0).margin(1e-12));
  CHECK(class_coverage({5, 1, 0, 2}, 2) == Approx(0.5));
  // A collapse onto class 3 with 1% of the samples scattered by classifier errors: covered "at least once" looks
  // like 0.6, the thresholded coverage (a fifth of a uniform share) stays at 0.1.
  std::vector<int32_t> scattered(990, 3);
  for (int i = 0; i < 10; ++i) scattered.push_back(i % 5 + 4);
  const ClassMetrics s = class_metrics(scattered, data, 10);
  CHECK(s.coverage_any == Approx(0.6));
  CHECK(s.coverage == Approx(0.1));
  CHECK(std::isinf(kl_divergence({1, 1}, {1, 0})));
  CHECK_THROWS_AS(class_histogram({3, 10}, 10), Error);
  CHECK_THROWS_AS(kl_divergence({1, 2}, {1, 2, 3}), Error);
}

TEST_CASE("stacked MNIST: modes and KL against uniform from label triples", "[metrics_image]") {
  auto triple = [](int a, int b, int c) { return static_cast<int32_t>(100 * a + 10 * b + c); };
  std::vector<int32_t> all;
  for (int a = 0; a < 10; ++a)
    for (int b = 0; b < 10; ++b)
      for (int c = 0; c < 10; ++c) all.push_back(triple(a, b, c));
  const StackedMnistMetrics full = stacked_mnist_metrics(all);
  CHECK(full.samples == 1000);
  CHECK(full.modes == 1000);
  CHECK(full.kl_uniform == Approx(0.0).margin(1e-12));

  // Only the 10 triples (d, d, d), 26 samples each: 10 modes, KL = log(1000 / 10).
  std::vector<int32_t> ten;
  for (int r = 0; r < 26; ++r)
    for (int d = 0; d < 10; ++d) ten.push_back(triple(d, d, d));
  const StackedMnistMetrics few = stacked_mnist_metrics(ten);
  CHECK(few.modes == 10);
  CHECK(few.kl_uniform == Approx(std::log(100.0)));
  // Every digit equally often in every channel: all of that KL is the channels' dependence.
  CHECK(few.kl_digits == Approx(0.0).margin(1e-12));
  CHECK(few.digit_counts[1][7] == 26);
  CHECK(full.kl_digits == Approx(0.0).margin(1e-12));
  // Channel 0 always 3, the others every combination: 100 modes, and all of the KL log(10) is channel 0's digits.
  std::vector<int32_t> first_fixed;
  for (int b = 0; b < 10; ++b)
    for (int c = 0; c < 10; ++c) first_fixed.push_back(triple(3, b, c));
  const StackedMnistMetrics fixed = stacked_mnist_metrics(first_fixed);
  CHECK(fixed.modes == 100);
  CHECK(fixed.kl_uniform == Approx(std::log(10.0)));
  CHECK(fixed.kl_digits == Approx(std::log(10.0)));
  CHECK(fixed.digit_counts[0][3] == 100);
  CHECK(fixed.digit_counts[2][3] == 10);
  // In general 0 <= kl_digits <= kl_uniform (a skewed, dependent set).
  std::vector<int32_t> skewed = {triple(1, 1, 1), triple(1, 1, 1), triple(1, 2, 3), triple(4, 5, 6), triple(1, 5, 9)};
  const StackedMnistMetrics sk = stacked_mnist_metrics(skewed);
  CHECK(sk.kl_digits > 0);
  CHECK(sk.kl_digits <= sk.kl_uniform);
  CHECK_THROWS_AS(stacked_mnist_metrics(std::vector<int32_t>{1000}), Error);
}

TEST_CASE("cross_entropy: value and gradient", "[metrics_image]") {
  Tensor logits = from_vector({0.f, 0.f, 1.f, 3.f}, {2, 2}).set_requires_grad();
  const Tensor loss = cross_entropy(logits, {0, 1});
  const double l1 = std::log(1 + std::exp(-2.0));
  CHECK(loss.item() == Approx((std::log(2.0) + l1) / 2).epsilon(1e-5));
  loss.backward();
  const std::vector<float> g = logits.grad().to_vector();  // (softmax - onehot) / N
  CHECK(g[0] == Approx(-0.25).epsilon(1e-5));
  CHECK(g[3] == Approx((1 / (1 + std::exp(-2.0)) - 1) / 2).margin(1e-5));
  CHECK_THROWS_AS(cross_entropy(logits, {0, 2}), Error);
}

TEST_CASE("MnistClassifier: trains on a tiny 2-class problem; features, stacked labels, save/load", "[metrics_image]") {
  const ImageDataset train = two_class_images(96, 1), test = two_class_images(32, 2);
  ClassifierTrainOptions opt;
  opt.epochs = 2;
  opt.batch = 16;
  opt.lr = 2e-3f;
  opt.max_shift = 1;
  opt.seed = 3;
  const TrainedClassifier r = train_mnist_classifier(train, test, opt);
  CHECK(r.test_accuracy >= 0.9);
  MnistClassifier& m = *r.model;

  const Tensor f = m.features(test.images, 10);
  CHECK(f.shape() == Shape{32, 128});
  const std::vector<int32_t> pred = m.predict(test.images, 7);
  REQUIRE(pred.size() == 32);
  // Other sizes are resized to 28 first.
  CHECK(m.features(resize_bilinear(test.images, 32)).shape() == Shape{32, 128});

  // Stacked: channels (image 0, image 1, image 2) -> 100 p0 + 10 p1 + p2.
  const Tensor three = reshape(slice(test.images, 0, 0, 6), {2, 3, 28, 28});
  const std::vector<int32_t> st = m.predict_stacked(three);
  CHECK(st[0] == 100 * pred[0] + 10 * pred[1] + pred[2]);
  CHECK(st[1] == 100 * pred[3] + 10 * pred[4] + pred[5]);
  CHECK_THROWS_AS(m.predict_stacked(test.images), Error);

  const std::string path = (std::filesystem::temp_directory_path() / "ganglion_test_classifier.safetensors").string();
  m.save(path);
  auto loaded = MnistClassifier::load(path);
  CHECK(loaded->test_accuracy == Approx(r.test_accuracy).margin(1e-6));
  CHECK(loaded->metadata.at("train_images") == "96");
  const std::vector<float> a = f.to_vector(), b = loaded->features(test.images).to_vector();
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, static_cast<double>(std::abs(a[i] - b[i])));
  CHECK(worst < 1e-5);
  CHECK(loaded->predict(test.images) == pred);

  // A safetensors file that is not a classifier is refused with its name.
  save_safetensors(path, {{"x", zeros({2})}});
  CHECK_THROWS_WITH(MnistClassifier::load(path), Catch::Contains(path));
  std::filesystem::remove(path);
}
