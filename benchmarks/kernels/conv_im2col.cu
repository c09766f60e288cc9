// benchmarks/kernels/conv_im2col.cu — im2col + cuBLAS convolution, the conv lab's baseline (see conv_im2col.h).
// Kernels are grid-stride loops over the output, one element per thread step, indices in 64 bits.
#include <cublas_v2.h>

#include "benchmarks/kernels/conv_im2col.h"
#include "kernels/cuda/check.h"
#include "kernels/device.h"

namespace ganglion::lab {

namespace {

struct Dims {  // the ConvShape as plain ints for the device, plus derived sizes
  int64_t N, C, H, W, K, R, S, P, Q, sh, sw, ph, pw, dh, dw;
};

Dims dims_of(const ConvShape& c) {
  return {c.N, c.C, c.H, c.W, c.K, c.R, c.S, c.P, c.Q, c.stride_h, c.stride_w, c.pad_h, c.pad_w, c.dil_h, c.dil_w};
}

// cols = im2col(x). grouped == false: cols[n][crs][pq]; grouped == true: cols[crs][n][pq]. Zero outside x.
__global__ void im2col_kernel(Dims d, bool grouped, const float* __restrict__ x, float* __restrict__ cols) {
  const int64_t crs_count = d.C * d.R * d.S, pq_count = d.P * d.Q;
  const int64_t total = d.N * crs_count * pq_count;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t pq = i % pq_count;
    int64_t n, crs;
    if (grouped) {
      n = i / pq_count % d.N;
      crs = i / (pq_count * d.N);
    } else {
      crs = i / pq_count % crs_count;
      n = i / (pq_count * crs_count);
    }
    const int64_t s = crs % d.S, r = crs / d.S % d.R, c = crs / (d.S * d.R);
    const int64_t h = pq / d.Q * d.sh - d.ph + r * d.dh, w = pq % d.Q * d.sw - d.pw + s * d.dw;
    cols[i] = (h >= 0 && h < d.H && w >= 0 && w < d.W) ? x[((n * d.C + c) * d.H + h) * d.W + w] : 0.f;
  }
}

// dx = col2im(cols) with cols[n][crs][pq]: each dx element gathers the column entries that read it (overwrites).
__global__ void col2im_kernel(Dims d, const float* __restrict__ cols, float* __restrict__ dx) {
  const int64_t crs_count = d.C * d.R * d.S, pq_count = d.P * d.Q;
  const int64_t total = d.N * d.C * d.H * d.W;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t w = i % d.W, h = i / d.W % d.H, c = i / (d.W * d.H) % d.C, n = i / (d.W * d.H * d.C);
    float acc = 0.f;
    for (int64_t r = 0; r < d.R; ++r) {
      const int64_t hp = h + d.ph - r * d.dh;
      if (hp < 0 || hp % d.sh != 0 || hp / d.sh >= d.P) continue;
      for (int64_t s = 0; s < d.S; ++s) {
        const int64_t wq = w + d.pw - s * d.dw;
        if (wq < 0 || wq % d.sw != 0 || wq / d.sw >= d.Q) continue;
        const int64_t crs = (c * d.R + r) * d.S + s;
        acc += cols[(n * crs_count + crs) * pq_count + hp / d.sh * d.Q + wq / d.sw];
      }
    }
    dx[i] = acc;
  }
}

// out[k][n][pq] = dy[n][k][pq].
__global__ void regroup_kernel(Dims d, const float* __restrict__ dy, float* __restrict__ out) {
  const int64_t pq_count = d.P * d.Q, total = d.N * d.K * pq_count;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t pq = i % pq_count, n = i / pq_count % d.N, k = i / (pq_count * d.N);
    out[i] = dy[(n * d.K + k) * pq_count + pq];
  }
}

int as_int(int64_t v, const char* what) {
  if (v < 0 || v > INT32_MAX)
    throw Error(std::string("im2col lab: ") + what + " = " + std::to_string(v) + " too large");
  return static_cast<int>(v);
}

// Row-major C[M,N] (ldc) = op(A)[M,Kd] * op(B)[Kd,N], `batch` times with element strides sa, sb, sc. cuBLAS is
// column-major, so it computes C^T = op(B)^T * op(A)^T on the same buffers (operands swapped, ops kept).
void gemm_rowmajor(GemmMath m, bool ta, bool tb, int64_t M, int64_t N, int64_t Kd, const float* A, int64_t lda,
                   int64_t sa, const float* B, int64_t ldb, int64_t sb, float* C, int64_t ldc, int64_t sc,
                   int64_t batch) {
  auto h = static_cast<cublasHandle_t>(lab_cublas());
  const float one = 1.f, zero = 0.f;
  const cublasComputeType_t compute = m == GemmMath::Tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  GANGLION_CUBLAS_CHECK(
      cublasGemmStridedBatchedEx(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, as_int(N, "N"),
                                 as_int(M, "M"), as_int(Kd, "K"), &one, B, CUDA_R_32F, as_int(ldb, "ldb"), sb, A,
                                 CUDA_R_32F, as_int(lda, "lda"), sa, &zero, C, CUDA_R_32F, as_int(ldc, "ldc"), sc,
                                 as_int(batch, "batch"), compute, CUBLAS_GEMM_DEFAULT),
      "im2col lab: cublasGemmStridedBatchedEx");
}

cudaStream_t engine_stream() { return cuda::as_stream(cuda::stream()); }

}  // namespace

Im2colConv::Im2colConv(const ConvShape& c)
    : c_(c),
      cols_(static_cast<size_t>(c.N * c.C * c.R * c.S * c.P * c.Q)),
      dy_grouped_(static_cast<size_t>(c.N * c.K * c.P * c.Q)) {}

void Im2colConv::forward(const float* x, const float* w, float* y, GemmMath m) {
  const Dims d = dims_of(c_);
  const int64_t crs = c_.C * c_.R * c_.S, pq = c_.P * c_.Q;
  im2col_kernel<<<cuda::grid_for(c_.N * crs * pq), 256, 0, engine_stream()>>>(d, false, x, cols_.get());
  GANGLION_LAUNCH_CHECK("im2col lab: im2col");
  gemm_rowmajor(m, false, false, c_.K, pq, crs, w, crs, 0, cols_.get(), pq, crs * pq, y, pq, c_.K * pq, c_.N);
}

void Im2colConv::backward_data(const float* dy, const float* w, float* dx, GemmMath m) {
  const Dims d = dims_of(c_);
  const int64_t crs = c_.C * c_.R * c_.S, pq = c_.P * c_.Q;
  gemm_rowmajor(m, true, false, crs, pq, c_.K, w, crs, 0, dy, pq, c_.K * pq, cols_.get(), pq, crs * pq, c_.N);
  col2im_kernel<<<cuda::grid_for(c_.N * c_.C * c_.H * c_.W), 256, 0, engine_stream()>>>(d, cols_.get(), dx);
  GANGLION_LAUNCH_CHECK("im2col lab: col2im");
}

void Im2colConv::backward_weight(const float* x, const float* dy, float* dw, GemmMath m) {
  const Dims d = dims_of(c_);
  const int64_t crs = c_.C * c_.R * c_.S, npq = c_.N * c_.P * c_.Q;
  im2col_kernel<<<cuda::grid_for(crs * npq), 256, 0, engine_stream()>>>(d, true, x, cols_.get());
  GANGLION_LAUNCH_CHECK("im2col lab: im2col (grouped)");
  regroup_kernel<<<cuda::grid_for(c_.K * npq), 256, 0, engine_stream()>>>(d, dy, dy_grouped_.get());
  GANGLION_LAUNCH_CHECK("im2col lab: regroup dy");
  gemm_rowmajor(m, false, true, c_.K, crs, npq, dy_grouped_.get(), npq, 0, cols_.get(), npq, 0, dw, crs, 0, 1);
}

}  // namespace ganglion::lab
