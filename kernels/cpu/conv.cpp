// kernels/cpu/conv.cpp — CPU twin of kernels/conv.h: 2-D convolution (NCHW, cross-correlation) by im2col and
// the GEMM of kernels/cpu/gemm.cpp. Images of the batch are spread over OpenMP threads, each with its own column
// buffer; backward-weight sums per thread and reduces at the end; backward-data scatters columns back (col2im).
#include "kernels/conv.h"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "kernels/gemm.h"

namespace ganglion::cpu {
namespace {

int64_t col_rows(const ConvShape& c) { return c.C * c.R * c.S; }
int64_t col_cols(const ConvShape& c) { return c.P * c.Q; }

// A 1x1 kernel with stride 1, no padding and an input exactly the output's size: the image is its own column
// matrix, no copy needed.
bool is_pointwise(const ConvShape& c) {
  return c.R == 1 && c.S == 1 && c.stride_h == 1 && c.stride_w == 1 && c.pad_h == 0 && c.pad_w == 0 &&
         c.H == c.P && c.W == c.Q;
}

// Input coordinate read by output coordinate o at kernel tap k along one axis.
inline int64_t in_coord(int64_t o, int64_t k, int stride, int pad, int dil) {
  return o * stride - pad + k * dil;
}

// col[(ch*R + r)*S + s, p*Q + q] = x[ch, ih, iw] (0 outside the image) for one image x [C,H,W].
void im2col(const ConvShape& c, const float* x, float* col) {
  const int64_t PQ = col_cols(c);
  for (int64_t ch = 0; ch < c.C; ++ch)
    for (int64_t r = 0; r < c.R; ++r)
      for (int64_t s = 0; s < c.S; ++s) {
        float* dst = col + ((ch * c.R + r) * c.S + s) * PQ;
        const float* img = x + ch * c.H * c.W;
        for (int64_t p = 0; p < c.P; ++p) {
          const int64_t ih = in_coord(p, r, c.stride_h, c.pad_h, c.dil_h);
          float* drow = dst + p * c.Q;
          if (ih < 0 || ih >= c.H) {
            std::fill(drow, drow + c.Q, 0.f);
            continue;
          }
          const float* srow = img + ih * c.W;
          for (int64_t q = 0; q < c.Q; ++q) {
            const int64_t iw = in_coord(q, s, c.stride_w, c.pad_w, c.dil_w);
            drow[q] = (iw >= 0 && iw < c.W) ? srow[iw] : 0.f;
          }
        }
      }
}

// The adjoint of im2col: dx (one image, [C,H,W]) = sum of the columns at the pixels they were read from.
// Overwrites dx, so pixels that no window reaches come out 0.
void col2im(const ConvShape& c, const float* col, float* dx) {
  std::fill(dx, dx + c.C * c.H * c.W, 0.f);
  const int64_t PQ = col_cols(c);
  for (int64_t ch = 0; ch < c.C; ++ch)
    for (int64_t r = 0; r < c.R; ++r)
      for (int64_t s = 0; s < c.S; ++s) {
        const float* src = col + ((ch * c.R + r) * c.S + s) * PQ;
        float* img = dx + ch * c.H * c.W;
        for (int64_t p = 0; p < c.P; ++p) {
          const int64_t ih = in_coord(p, r, c.stride_h, c.pad_h, c.dil_h);
          if (ih < 0 || ih >= c.H) continue;
          const float* srow = src + p * c.Q;
          float* drow = img + ih * c.W;
          for (int64_t q = 0; q < c.Q; ++q) {
            const int64_t iw = in_coord(q, s, c.stride_w, c.pad_w, c.dil_w);
            if (iw >= 0 && iw < c.W) drow[iw] += srow[q];
          }
        }
      }
}

// Threads to use for a loop over the N images (one when there is a single image: the GEMM may then use them).
int batch_threads(const ConvShape& c) {
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(omp_get_max_threads(), c.N)));
}

}  // namespace

void conv2d_forward(Stream s, const ConvShape& c, const float* x, const float* w, float* y) {
  const int64_t CRS = col_rows(c), PQ = col_cols(c), in_sz = c.C * c.H * c.W, out_sz = c.K * PQ;
  const bool direct = is_pointwise(c);
  const int nt = batch_threads(c);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    std::vector<float> col(direct ? 0 : CRS * PQ);
#pragma omp for schedule(static)
    for (int64_t n = 0; n < c.N; ++n) {
      const float* cols = x + n * in_sz;
      if (!direct) {
        im2col(c, x + n * in_sz, col.data());
        cols = col.data();
      }
      gemm(s, false, false, c.K, PQ, CRS, 1.f, w, CRS, cols, PQ, 0.f, y + n * out_sz, PQ);
    }
  }
}

void conv2d_backward_data(Stream s, const ConvShape& c, const float* dy, const float* w, float* dx) {
  const int64_t CRS = col_rows(c), PQ = col_cols(c), in_sz = c.C * c.H * c.W, out_sz = c.K * PQ;
  const bool direct = is_pointwise(c);
  const int nt = batch_threads(c);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    std::vector<float> col(direct ? 0 : CRS * PQ);
#pragma omp for schedule(static)
    for (int64_t n = 0; n < c.N; ++n) {
      float* target = direct ? dx + n * in_sz : col.data();
      gemm(s, true, false, CRS, PQ, c.K, 1.f, w, CRS, dy + n * out_sz, PQ, 0.f, target, PQ);
      if (!direct) col2im(c, col.data(), dx + n * in_sz);
    }
  }
}

void conv2d_backward_weight(Stream s, const ConvShape& c, const float* x, const float* dy, float* dw) {
  const int64_t CRS = col_rows(c), PQ = col_cols(c), in_sz = c.C * c.H * c.W, out_sz = c.K * PQ;
  const int64_t wsz = c.K * CRS;
  const bool direct = is_pointwise(c);
  const int nt = batch_threads(c);
  std::fill(dw, dw + wsz, 0.f);
  // Thread 0 accumulates straight into dw; the others into their own buffers, added in thread order after.
  std::vector<std::vector<float>> partial(nt > 1 ? nt - 1 : 0);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    const int t = omp_get_thread_num();
    float* acc = dw;
    if (t > 0) {
      partial[t - 1].assign(wsz, 0.f);
      acc = partial[t - 1].data();
    }
    std::vector<float> col(direct ? 0 : CRS * PQ);
#pragma omp for schedule(static)
    for (int64_t n = 0; n < c.N; ++n) {
      const float* cols = x + n * in_sz;
      if (!direct) {
        im2col(c, x + n * in_sz, col.data());
        cols = col.data();
      }
      gemm(s, false, true, c.K, CRS, PQ, 1.f, dy + n * out_sz, PQ, cols, PQ, 1.f, acc, CRS);
    }
  }
  for (const auto& part : partial)  // a thread the runtime did not start left its buffer empty
    for (size_t i = 0; i < part.size(); ++i) dw[i] += part[i];
}

}  // namespace ganglion::cpu
