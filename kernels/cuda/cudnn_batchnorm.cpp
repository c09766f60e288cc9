// kernels/cuda/cudnn_batchnorm.cpp — the cuDNN twin of kernels/batchnorm.h (legacy cuDNN 9 API):
// cudnnBatchNormalizationForwardTraining / ForwardInference / Backward in CUDNN_BATCHNORM_SPATIAL mode on a 4-D
// view [N, C, L, 1] of the [N, C, L] input. For L == 1 ([N, C] input) this is still SPATIAL over N values per
// channel, the same thing; PER_ACTIVATION would be wrong there.
// Contract mapping: cuDNN's exponentialAverageFactor is our momentum (running = (1-f)*running + f*batch), and
// its running variance is the unbiased one, like ours; its "saved inverse variance" is 1/sqrt(var + eps), our
// save_invstd. cuDNN needs scale/bias (and dScale/dBias) pointers: null gamma/beta become device buffers of
// ones/zeros, null dgamma/dbeta a scratch buffer that is thrown away.
#include <cudnn.h>

#include <climits>
#include <memory>
#include <string>

#include "kernels/batchnorm.h"
#include "kernels/cuda/cudnn_util.h"
#include "kernels/cuda/check.h"
#include "kernels/device.h"

namespace ganglion::cudnn {
namespace {

struct DeviceFree {
  void operator()(void* p) const { cuda::device_free(p); }
};
using Scratch = std::unique_ptr<float, DeviceFree>;

// The data descriptor [N, C, L, 1] and the per-channel descriptor [1, C, 1, 1] derived from it.
struct BnDescs {
  cudnnTensorDescriptor_t data = nullptr, chan = nullptr;
  BnDescs(const char* op, int64_t N, int64_t C, int64_t L) {
    if (N < 1 || C < 1 || L < 1 || N * C * L > INT_MAX) {
      throw Error(std::string(op) + ": sizes N=" + std::to_string(N) + " C=" + std::to_string(C) +
                  " L=" + std::to_string(L) + " outside what cuDNN takes");
    }
    GANGLION_CUDNN_CHECK(cudnnCreateTensorDescriptor(&data), op);
    GANGLION_CUDNN_CHECK(cudnnCreateTensorDescriptor(&chan), op);
    GANGLION_CUDNN_CHECK(cudnnSetTensor4dDescriptor(data, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, int(N), int(C),
                                                       int(L), 1),
                            op);
    GANGLION_CUDNN_CHECK(cudnnDeriveBNTensorDescriptor(chan, data, CUDNN_BATCHNORM_SPATIAL), op);
  }
  ~BnDescs() {
    cudnnDestroyTensorDescriptor(data);
    cudnnDestroyTensorDescriptor(chan);
  }
  BnDescs(const BnDescs&) = delete;
  BnDescs& operator=(const BnDescs&) = delete;
};

// `given` when non-null, else a fresh per-channel buffer filled with `value` (kept alive by `hold`).
float* or_filled(const char* op, cudnnHandle_t h, const BnDescs& d, int64_t C, const float* given, float value,
                 Scratch& hold) {
  if (given != nullptr) return const_cast<float*>(given);
  hold.reset(static_cast<float*>(cuda::device_alloc(static_cast<size_t>(C) * sizeof(float))));
  GANGLION_CUDNN_CHECK(cudnnSetTensor(h, d.chan, hold.get(), &value), op);
  return hold.get();
}

}  // namespace

void batchnorm_forward_train(Stream s, const float* x, const float* gamma, const float* beta, float* y,
                             float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                             int64_t N, int64_t C, int64_t L, float momentum, float eps) {
  const char* op = "batchnorm_forward_train (cudnn)";
  if (N * C * L == 0) return;
  cudnnHandle_t h = detail::handle(s);
  BnDescs d(op, N, C, L);
  Scratch g_hold, b_hold, rm_hold, rv_hold;
  const float* g = or_filled(op, h, d, C, gamma, 1.f, g_hold);
  const float* b = or_filled(op, h, d, C, beta, 0.f, b_hold);
  // cuDNN updates both running statistics or neither: give it a throwaway for a missing one.
  float* rm = running_mean;
  float* rv = running_var;
  if (rm != nullptr || rv != nullptr) {
    rm = or_filled(op, h, d, C, running_mean, 0.f, rm_hold);
    rv = or_filled(op, h, d, C, running_var, 1.f, rv_hold);
  }
  const float one = 1.f, zero = 0.f;
  GANGLION_CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(h, CUDNN_BATCHNORM_SPATIAL, &one, &zero, d.data, x,
                                                                 d.data, y, d.chan, g, b, momentum, rm, rv, eps,
                                                                 save_mean, save_invstd),
                          op);
}

void batchnorm_forward_eval(Stream s, const float* x, const float* gamma, const float* beta,
                            const float* running_mean, const float* running_var, float* y, int64_t N, int64_t C,
                            int64_t L, float eps) {
  const char* op = "batchnorm_forward_eval (cudnn)";
  if (N * C * L == 0) return;
  cudnnHandle_t h = detail::handle(s);
  BnDescs d(op, N, C, L);
  Scratch g_hold, b_hold;
  const float* g = or_filled(op, h, d, C, gamma, 1.f, g_hold);
  const float* b = or_filled(op, h, d, C, beta, 0.f, b_hold);
  const float one = 1.f, zero = 0.f;
  GANGLION_CUDNN_CHECK(cudnnBatchNormalizationForwardInference(h, CUDNN_BATCHNORM_SPATIAL, &one, &zero, d.data,
                                                                  x, d.data, y, d.chan, g, b, running_mean,
                                                                  running_var, eps),
                          op);
}

void batchnorm_backward(Stream s, const float* x, const float* dy, const float* gamma, const float* save_mean,
                        const float* save_invstd, float* dx, float* dgamma, float* dbeta, int64_t N, int64_t C,
                        int64_t L) {
  const char* op = "batchnorm_backward (cudnn)";
  if (N * C * L == 0) return;
  cudnnHandle_t h = detail::handle(s);
  BnDescs d(op, N, C, L);
  Scratch g_hold, dg_hold, db_hold;
  const float* g = or_filled(op, h, d, C, gamma, 1.f, g_hold);
  float* dg = or_filled(op, h, d, C, dgamma, 0.f, dg_hold);
  float* db = or_filled(op, h, d, C, dbeta, 0.f, db_hold);
  const float one = 1.f, zero = 0.f;
  // epsilon is only read when the saved statistics are null, which they never are here.
  const double unused_eps = 1e-5;
  GANGLION_CUDNN_CHECK(cudnnBatchNormalizationBackward(h, CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &zero,
                                                          d.data, x, d.data, dy, d.data, dx, d.chan, g, dg, db,
                                                          unused_eps, save_mean, save_invstd),
                          op);
}

}  // namespace ganglion::cudnn
