// benchmarks/kernels/conv_reference.cpp — the conv lab's direct-definition reference (see conv_reference.h).
#include "benchmarks/kernels/conv_reference.h"

#include <algorithm>
#include <random>

#include "benchmarks/kernels/lab_util.h"

namespace ganglion::lab {

const char* conv_dir_name(ConvDir d) {
  switch (d) {
    case ConvDir::Forward:
      return "fwd";
    case ConvDir::BackwardData:
      return "bwd-data";
    case ConvDir::BackwardWeight:
      return "bwd-weight";
  }
  return "?";
}

int64_t conv_out_count(ConvDir d, const ConvShape& c) {
  switch (d) {
    case ConvDir::Forward:
      return c.N * c.K * c.P * c.Q;
    case ConvDir::BackwardData:
      return c.N * c.C * c.H * c.W;
    case ConvDir::BackwardWeight:
      return c.K * c.C * c.R * c.S;
  }
  return 0;
}

namespace {

double forward_at(const ConvShape& c, const float* x, const float* w, int64_t i) {
  const int64_t q = i % c.Q, p = i / c.Q % c.P, k = i / (c.Q * c.P) % c.K, n = i / (c.Q * c.P * c.K);
  double acc = 0;
  for (int64_t ch = 0; ch < c.C; ++ch)
    for (int64_t r = 0; r < c.R; ++r)
      for (int64_t s = 0; s < c.S; ++s) {
        const int64_t h = p * c.stride_h - c.pad_h + r * c.dil_h, wi = q * c.stride_w - c.pad_w + s * c.dil_w;
        if (h < 0 || h >= c.H || wi < 0 || wi >= c.W) continue;
        acc += double(x[((n * c.C + ch) * c.H + h) * c.W + wi]) * w[((k * c.C + ch) * c.R + r) * c.S + s];
      }
  return acc;
}

double backward_data_at(const ConvShape& c, const float* dy, const float* w, int64_t i) {
  const int64_t wi = i % c.W, h = i / c.W % c.H, ch = i / (c.W * c.H) % c.C, n = i / (c.W * c.H * c.C);
  double acc = 0;
  for (int64_t k = 0; k < c.K; ++k)
    for (int64_t r = 0; r < c.R; ++r)
      for (int64_t s = 0; s < c.S; ++s) {
        const int64_t ph = h + c.pad_h - r * c.dil_h, qw = wi + c.pad_w - s * c.dil_w;
        if (ph < 0 || qw < 0 || ph % c.stride_h != 0 || qw % c.stride_w != 0) continue;
        const int64_t p = ph / c.stride_h, q = qw / c.stride_w;
        if (p >= c.P || q >= c.Q) continue;
        acc += double(dy[((n * c.K + k) * c.P + p) * c.Q + q]) * w[((k * c.C + ch) * c.R + r) * c.S + s];
      }
  return acc;
}

double backward_weight_at(const ConvShape& c, const float* x, const float* dy, int64_t i) {
  const int64_t s = i % c.S, r = i / c.S % c.R, ch = i / (c.S * c.R) % c.C, k = i / (c.S * c.R * c.C);
  double acc = 0;
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t p = 0; p < c.P; ++p)
      for (int64_t q = 0; q < c.Q; ++q) {
        const int64_t h = p * c.stride_h - c.pad_h + r * c.dil_h, wi = q * c.stride_w - c.pad_w + s * c.dil_w;
        if (h < 0 || h >= c.H || wi < 0 || wi >= c.W) continue;
        acc += double(x[((n * c.C + ch) * c.H + h) * c.W + wi]) * dy[((n * c.K + k) * c.P + p) * c.Q + q];
      }
  return acc;
}

}  // namespace

double conv_reference_at(ConvDir d, const ConvShape& c, const float* a, const float* b, int64_t index) {
  switch (d) {
    case ConvDir::Forward:
      return forward_at(c, a, b, index);
    case ConvDir::BackwardData:
      return backward_data_at(c, a, b, index);
    case ConvDir::BackwardWeight:
      return backward_weight_at(c, a, b, index);
  }
  return 0;
}

std::vector<int64_t> check_indices(int64_t count, bool all, int64_t samples, uint64_t seed) {
  std::vector<int64_t> idx;
  if (count <= 0) return idx;
  if (all || samples >= count) {
    idx.resize(count);
    for (int64_t i = 0; i < count; ++i) idx[i] = i;
    return idx;
  }
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int64_t> pick(0, count - 1);
  idx.push_back(0);
  idx.push_back(count - 1);
  while (static_cast<int64_t>(idx.size()) < samples) idx.push_back(pick(gen));
  return idx;
}

double conv_reference_error(ConvDir d, const ConvShape& c, const float* a, const float* b, const float* out,
                            const std::vector<int64_t>& indices) {
  std::vector<double> ref(indices.size());
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t j = 0; j < static_cast<int64_t>(indices.size()); ++j) ref[j] = conv_reference_at(d, c, a, b, indices[j]);
  ErrorMeter m;
  for (size_t j = 0; j < indices.size(); ++j) m.add(out[indices[j]], ref[j]);
  return m.rel();
}

}  // namespace ganglion::lab
