// kernels/cpu/conv.cpp — CPU twin of kernels/conv.h: 2-D convolution (NCHW, cross-correlation) by im2col and
// the GEMM of kernels/cpu/gemm.cpp. Two layouts:
//   * a kernel that covers the whole (unpadded) input, giving a 1×1 output (DCGAN's first transposed conv and
//     last conv): the image is its own column, so each pass is one GEMM over the whole batch;
//   * otherwise groups of images are spread over OpenMP threads, each with its own column buffer (per-thread
//     scratch, no allocation on the hot path): one image per GEMM where its output map is large, several side
//     by side where it is small (so the weights are not repacked per image); backward-weight sums per thread
//     and reduces at the end; backward-data scatters columns back (col2im).
// im2col/col2im work a row at a time on the range of output columns whose taps fall inside the image.
#include "kernels/conv.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <vector>

#include "kernels/cpu/scratch.h"
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

// The kernel is the whole unpadded image and the output one pixel: image n's column is x[n] flattened, so the
// batch's column matrix is x viewed as [N, C*H*W].
bool is_whole_image(const ConvShape& c) {
  return c.P == 1 && c.Q == 1 && c.pad_h == 0 && c.pad_w == 0 && c.dil_h == 1 && c.dil_w == 1 && c.R == c.H &&
         c.S == c.W;
}

// The output coordinates o in [lo, hi) whose input coordinate o*stride - pad + k*dil lies in [0, in_size) for
// kernel tap k; offset is that coordinate at o = 0.
struct TapRange {
  int64_t lo = 0, hi = 0, offset = 0;
};
TapRange tap_range(int64_t out_size, int64_t k, int stride, int pad, int dil, int64_t in_size) {
  TapRange t;
  t.offset = k * dil - pad;
  // smallest o with o*stride + offset >= 0, and smallest o with o*stride + offset >= in_size
  auto first_reaching = [&](int64_t bound) {
    const int64_t need = bound - t.offset;
    return need <= 0 ? int64_t{0} : (need + stride - 1) / stride;
  };
  t.lo = std::min(out_size, first_reaching(0));
  t.hi = std::max(t.lo, std::min(out_size, first_reaching(in_size)));
  return t;
}

// col[(ch*R + r)*S + s, p*Q + q] = x[ch, ih, iw] (0 outside the image) for one image x [C,H,W], the column
// matrix's rows ld floats apart (ld >= P*Q; several images' columns then sit side by side). Each column row is
// written whole, zeros and copies in one pass, with the tap ranges worked out once per kernel tap.
void im2col(const ConvShape& c, const float* x, float* col, int64_t ld) {
  const int64_t PQ = col_cols(c), Q = c.Q, sw = c.stride_w;
  for (int64_t r = 0; r < c.R; ++r) {
    const TapRange rows = tap_range(c.P, r, c.stride_h, c.pad_h, c.dil_h, c.H);
    for (int64_t s = 0; s < c.S; ++s) {
      const TapRange cols = tap_range(c.Q, s, c.stride_w, c.pad_w, c.dil_w, c.W);
      for (int64_t ch = 0; ch < c.C; ++ch) {
        float* dst = col + ((ch * c.R + r) * c.S + s) * ld;
        const float* img = x + ch * c.H * c.W;
        for (int64_t i = 0; i < rows.lo * Q; ++i) dst[i] = 0.f;
        for (int64_t p = rows.lo; p < rows.hi; ++p) {
          float* drow = dst + p * Q;
          const float* srow = img + (p * c.stride_h + rows.offset) * c.W + cols.offset;
          for (int64_t q = 0; q < cols.lo; ++q) drow[q] = 0.f;
          for (int64_t q = cols.lo; q < cols.hi; ++q) drow[q] = srow[q * sw];
          for (int64_t q = cols.hi; q < Q; ++q) drow[q] = 0.f;
        }
        for (int64_t i = rows.hi * Q; i < PQ; ++i) dst[i] = 0.f;
      }
    }
  }
}

// The adjoint of im2col: dx (one image, [C,H,W]) = sum of the columns (rows ld floats apart) at the pixels they
// were read from. Overwrites dx, so pixels that no window reaches come out 0.
void col2im(const ConvShape& c, const float* col, int64_t ld, float* dx) {
  std::fill(dx, dx + c.C * c.H * c.W, 0.f);
  for (int64_t ch = 0; ch < c.C; ++ch)
    for (int64_t r = 0; r < c.R; ++r) {
      const TapRange rows = tap_range(c.P, r, c.stride_h, c.pad_h, c.dil_h, c.H);
      for (int64_t s = 0; s < c.S; ++s) {
        const TapRange cols = tap_range(c.Q, s, c.stride_w, c.pad_w, c.dil_w, c.W);
        const float* src = col + ((ch * c.R + r) * c.S + s) * ld;
        float* img = dx + ch * c.H * c.W;
        for (int64_t p = rows.lo; p < rows.hi; ++p) {
          const float* srow = src + p * c.Q;
          float* drow = img + (p * c.stride_h + rows.offset) * c.W + cols.offset;
          if (c.stride_w == 1) {
            for (int64_t q = cols.lo; q < cols.hi; ++q) drow[q] += srow[q];
          } else {
            for (int64_t q = cols.lo; q < cols.hi; ++q) drow[q * c.stride_w] += srow[q];
          }
        }
      }
    }
}

// Images per GEMM. One image's GEMM has P*Q columns, and the GEMM packs the whole weight matrix again for each
// call: where P*Q is small (the 4x4 and 8x8 maps of a 64x64 DCGAN: 16 columns against 4,096-deep weights)
// that packing costs more than the multiply. So images go g at a time, side by side in one column matrix of
// g*P*Q columns: g the smallest count giving kGroupColumns columns, at most an even share of the batch per
// thread, 1 where one image already has that many.
constexpr int64_t kGroupColumns = 512;

// How a convolution's batch is split: `size` images per GEMM, on `threads` OpenMP threads; `direct` when each
// group is one image whose input is already its column matrix (a 1x1 kernel, is_pointwise).
struct ImageGroups {
  int threads = 1;
  int64_t size = 1;
  bool direct = false;
};

ImageGroups plan_groups(const ConvShape& c) {
  ImageGroups g;
  g.threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(omp_get_max_threads(), c.N)));
  const int64_t want = (kGroupColumns + col_cols(c) - 1) / col_cols(c);
  const int64_t share = (c.N + g.threads - 1) / g.threads;
  g.size = std::max<int64_t>(1, std::min(want, share));
  g.threads = static_cast<int>(std::min<int64_t>(g.threads, (c.N + g.size - 1) / g.size));
  g.direct = g.size == 1 && is_pointwise(c);
  return g;
}

// Copies cnt images between the tensor layout [cnt][rows][PQ] and a group's GEMM layout [rows][cnt*PQ]:
// into the group layout (to_group) or back out of it.
void copy_group(const float* from, float* to, int64_t cnt, int64_t rows, int64_t PQ, bool to_group) {
  for (int64_t j = 0; j < cnt; ++j)
    for (int64_t k = 0; k < rows; ++k) {
      const int64_t in_group = k * cnt * PQ + j * PQ, in_tensor = (j * rows + k) * PQ;
      std::memcpy(to + (to_group ? in_group : in_tensor), from + (to_group ? in_tensor : in_group),
                  sizeof(float) * PQ);
    }
}

// Runs body(n0, cnt, thread) for the groups of consecutive images (the last may be shorter) on the plan's
// OpenMP threads. An exception thrown by a thread is rethrown here, after the region.
template <class Body>
void for_each_group(const ConvShape& c, const ImageGroups& plan, Body body) {
  const int64_t g = plan.size, groups = (c.N + g - 1) / g;
  const int nt = plan.threads;
  std::exception_ptr failure;
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    const int t = omp_get_thread_num();
#pragma omp for schedule(static)
    for (int64_t i = 0; i < groups; ++i) {
      try {
        body(i * g, std::min(g, c.N - i * g), t);
      } catch (...) {
#pragma omp critical(ganglion_conv_failure)
        if (!failure) failure = std::current_exception();
      }
    }
  }
  if (failure) std::rethrow_exception(failure);
}

// The column matrix [CRS, cnt*PQ] of images n0 .. n0+cnt-1: the input itself for a direct plan, else built in
// this thread's scratch.
const float* group_columns(const ConvShape& c, const ImageGroups& plan, const float* x, int64_t n0, int64_t cnt) {
  const int64_t PQ = col_cols(c), in_sz = c.C * c.H * c.W;
  if (plan.direct) return x + n0 * in_sz;
  float* col = thread_scratch(ScratchSlot::Columns, static_cast<size_t>(col_rows(c) * cnt * PQ));
  for (int64_t j = 0; j < cnt; ++j) im2col(c, x + (n0 + j) * in_sz, col + j * PQ, cnt * PQ);
  return col;
}

// dy of images n0 .. n0+cnt-1 as one [K, cnt*PQ] matrix: the tensor itself for one image, else a staged copy.
const float* group_output_grad(const ConvShape& c, const float* dy, int64_t n0, int64_t cnt) {
  const int64_t PQ = col_cols(c);
  if (cnt == 1) return dy + n0 * c.K * PQ;
  float* staged = thread_scratch(ScratchSlot::Staging, static_cast<size_t>(c.K * cnt * PQ));
  copy_group(dy + n0 * c.K * PQ, staged, cnt, c.K, PQ, /*to_group=*/true);
  return staged;
}

}  // namespace

void conv2d_forward(Stream s, const ConvShape& c, const float* x, const float* w, float* y) {
  const int64_t CRS = col_rows(c), PQ = col_cols(c), out_sz = c.K * PQ;
  if (is_whole_image(c)) {  // y[N,K] = x[N,CRS] * w[K,CRS]^T
    gemm(s, false, true, c.N, c.K, CRS, 1.f, x, CRS, w, CRS, 0.f, y, c.K);
    return;
  }
  const ImageGroups plan = plan_groups(c);
  for_each_group(c, plan, [&](int64_t n0, int64_t cnt, int) {
    const int64_t ld = cnt * PQ;
    const float* cols = group_columns(c, plan, x, n0, cnt);
    float* out = cnt == 1 ? y + n0 * out_sz : thread_scratch(ScratchSlot::Staging, static_cast<size_t>(c.K * ld));
    gemm(s, false, false, c.K, ld, CRS, 1.f, w, CRS, cols, ld, 0.f, out, ld);
    if (cnt > 1) copy_group(out, y + n0 * out_sz, cnt, c.K, PQ, /*to_group=*/false);
  });
}

void conv2d_backward_data(Stream s, const ConvShape& c, const float* dy, const float* w, float* dx) {
  const int64_t CRS = col_rows(c), PQ = col_cols(c), in_sz = c.C * c.H * c.W;
  if (is_whole_image(c)) {  // dx[N,CRS] = dy[N,K] * w[K,CRS]
    gemm(s, false, false, c.N, CRS, c.K, 1.f, dy, c.K, w, CRS, 0.f, dx, CRS);
    return;
  }
  const ImageGroups plan = plan_groups(c);
  for_each_group(c, plan, [&](int64_t n0, int64_t cnt, int) {
    const int64_t ld = cnt * PQ;
    const float* dyg = group_output_grad(c, dy, n0, cnt);
    float* target = plan.direct ? dx + n0 * in_sz : thread_scratch(ScratchSlot::Columns, static_cast<size_t>(CRS * ld));
    gemm(s, true, false, CRS, ld, c.K, 1.f, w, CRS, dyg, ld, 0.f, target, ld);
    if (!plan.direct)
      for (int64_t j = 0; j < cnt; ++j) col2im(c, target + j * PQ, ld, dx + (n0 + j) * in_sz);
  });
}

void conv2d_backward_weight(Stream s, const ConvShape& c, const float* x, const float* dy, float* dw) {
  const int64_t CRS = col_rows(c), PQ = col_cols(c);
  const int64_t wsz = c.K * CRS;
  if (is_whole_image(c)) {  // dw[K,CRS] = dy[N,K]^T * x[N,CRS]
    gemm(s, true, false, c.K, CRS, c.N, 1.f, dy, c.K, x, CRS, 0.f, dw, CRS);
    return;
  }
  const ImageGroups plan = plan_groups(c);
  // Thread 0 accumulates straight into dw; the others into their own buffers, added in thread order after.
  // partial[t] stays null for a thread the runtime did not start.
  std::vector<float*> partial(plan.threads, nullptr);
  std::fill(dw, dw + wsz, 0.f);
  for_each_group(c, plan, [&](int64_t n0, int64_t cnt, int t) {
    float*& acc = partial[t];
    if (!acc) {
      if (t == 0) {
        acc = dw;
      } else {
        acc = thread_scratch(ScratchSlot::Partial, static_cast<size_t>(wsz));
        std::fill(acc, acc + wsz, 0.f);
      }
    }
    const int64_t ld = cnt * PQ;
    const float* cols = group_columns(c, plan, x, n0, cnt);
    gemm(s, false, true, c.K, CRS, ld, 1.f, group_output_grad(c, dy, n0, cnt), ld, cols, ld, 1.f, acc, CRS);
  });
  for (int t = 1; t < plan.threads; ++t) {
    const float* part = partial[t];
    if (part)
      for (int64_t i = 0; i < wsz; ++i) dw[i] += part[i];
  }
}

}  // namespace ganglion::cpu
