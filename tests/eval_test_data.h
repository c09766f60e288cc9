// tests/eval_test_data.h — fixtures for the evaluation tests: a tiny MNIST folder with both splits (train-* and
// t10k-*, written by tests/mnist_test_data.h), and a "collapsed" generator whose every parameter is 0 except the
// output bias, so that it maps all noise to one point (2-D) or one constant image — inputs with known metrics.
#pragma once
#include <filesystem>
#include <vector>

#include "layers/module.h"
#include "mnist_test_data.h"

namespace gtest {

// dir/train-* with n_train images and dir/t10k-* with n_test images (labels i % 10, so the test classes are
// uniform when n_test is a multiple of 10).
inline void write_mnist_splits(const std::filesystem::path& dir, int n_train, int n_test) {
  namespace fs = std::filesystem;
  const fs::path tmp = dir / "t10k_tmp";
  fs::create_directories(tmp);
  write_mnist(tmp, n_test, true);
  fs::rename(tmp / "train-images-idx3-ubyte.gz", dir / "t10k-images-idx3-ubyte.gz");
  fs::rename(tmp / "train-labels-idx1-ubyte.gz", dir / "t10k-labels-idx1-ubyte.gz");
  fs::remove_all(tmp);
  write_mnist(dir, n_train, true);
}

// Every parameter of g set to 0, then its last parameter (the output layer's bias) to `output_bias` when given.
inline void collapse_generator(ganglion::Module& g, const std::vector<float>& output_bias = {}) {
  std::vector<ganglion::Tensor> params = g.parameters();
  for (auto& p : params)
    for (int64_t i = 0; i < p.numel(); ++i) p.data()[i] = 0.f;
  if (!output_bias.empty())
    for (size_t i = 0; i < output_bias.size(); ++i) params.back().data()[i] = output_bias[i];
}

}  // namespace gtest
