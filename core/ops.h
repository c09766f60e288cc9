// core/ops.h — the ops API: every computation above core/ goes through these functions. Each op checks its
// inputs (a clear Error naming the op and the shapes/devices), calls its kernel through the dispatch point, and
// records a differentiable backward when grad mode is on.
#pragma once
#include <cstdint>
#include <vector>

#include "core/autograd.h"
#include "core/rng.h"
#include "core/tensor.h"

namespace ganglion {

// ---- Elementwise, with numpy-style broadcasting for the binary ops ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add_scalar(const Tensor& a, float s);
Tensor mul_scalar(const Tensor& a, float s);
Tensor neg(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor sqrt(const Tensor& a);
Tensor square(const Tensor& a);
Tensor pow(const Tensor& a, float p);
Tensor abs(const Tensor& a);
Tensor clamp(const Tensor& a, float lo, float hi);
Tensor relu(const Tensor& a);
Tensor leaky_relu(const Tensor& a, float slope = 0.2f);
Tensor tanh(const Tensor& a);
Tensor sigmoid(const Tensor& a);
Tensor softplus(const Tensor& a);
Tensor log_sigmoid(const Tensor& a);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a);
Tensor operator+(const Tensor& a, float s);
Tensor operator-(const Tensor& a, float s);
Tensor operator*(const Tensor& a, float s);
Tensor operator/(const Tensor& a, float s);
Tensor operator+(float s, const Tensor& a);
Tensor operator-(float s, const Tensor& a);
Tensor operator*(float s, const Tensor& a);

// ---- Reductions ----
Tensor sum(const Tensor& a);  // all elements -> shape []
Tensor sum(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor mean(const Tensor& a);
Tensor mean(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor max(const Tensor& a, int64_t dim, bool keepdim = false);  // values (ties: first index gets the grad)
// Sums a broadcast result back to `shape` (the backward of broadcasting).
Tensor sum_to_shape(const Tensor& a, const Shape& shape);
Tensor expand(const Tensor& a, const Shape& shape);  // numpy broadcast of a to shape (a copy)

// ---- Shape ----
Tensor reshape(const Tensor& a, const Shape& shape);  // one entry may be -1; a view
Tensor flatten(const Tensor& a, int64_t start_dim = 1);  // a view
Tensor concat(const std::vector<Tensor>& parts, int64_t dim);
Tensor slice(const Tensor& a, int64_t dim, int64_t start, int64_t end);  // [start, end) along dim

// ---- Linear algebra ----
// 2-D: op(a) [M,K] x op(b) [K,N] where op transposes when asked.
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);
// x [N, in], w [out, in], b [out] (may be undefined): x w^T + b.
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b = Tensor());

// ---- Convolutions (NCHW, cross-correlation, weights as in PyTorch) ----
struct Conv2dOptions {
  int stride = 1, padding = 0, dilation = 1;
};
// x [N,C,H,W], w [K,C,R,S], b [K] or undefined.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b = Tensor(), Conv2dOptions o = {});
struct ConvTranspose2dOptions {
  int stride = 1, padding = 0, output_padding = 0, dilation = 1;
};
// x [N,C,H,W], w [C,K,R,S] (PyTorch's ConvTranspose2d layout), b [K] or undefined.
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b = Tensor(), ConvTranspose2dOptions o = {});

// ---- Normalisation ----
// x [N,C] or [N,C,H,W]. gamma/beta [C] or undefined. In training, batch statistics are used and the running
// stats (when defined) are updated in place; in eval, the running stats are used.
Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                  const Tensor& running_var, bool training, float momentum = 0.1f, float eps = 1e-5f);
// Normalises over the last `normalized_dims` dimensions; gamma/beta have that trailing shape or are undefined.
Tensor layer_norm(const Tensor& x, int64_t normalized_dims, const Tensor& gamma, const Tensor& beta,
                  float eps = 1e-5f);

// ---- Losses (mean over all elements) ----
Tensor mse_loss(const Tensor& x, const Tensor& target);
Tensor bce_with_logits(const Tensor& logits, const Tensor& target);

// ---- Gradient penalty (WGAN-GP) ----
// x̂ = eps*x + (1-eps)*xt with eps [N] one per sample; not differentiable (x̂ is a fresh leaf for the penalty).
Tensor interpolate(const Tensor& x, const Tensor& xt, const Tensor& eps);
// lambda * mean_i (||g_i||_2 - target)^2 over the samples of g [N, ...]: one fused kernel each way.
Tensor gradient_penalty(const Tensor& g, float lambda, float target = 1.f);

// ---- In-place updates (no autograd; for optimisers, running stats and initialisers) ----
void copy_(Tensor& dst, const Tensor& src);  // same shape; devices may differ
void fill_(Tensor& t, float v);
void adam_update_(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, float lr, float beta1, float beta2, float eps,
                  float weight_decay, int64_t step);
void rmsprop_update_(Tensor& p, const Tensor& g, Tensor& sq, float lr, float alpha, float eps, float weight_decay);
void sgd_update_(Tensor& p, const Tensor& g, Tensor& buf, float lr, float momentum, float weight_decay,
                 bool first_step);

}  // namespace ganglion
