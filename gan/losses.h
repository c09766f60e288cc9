// gan/losses.h — the adversarial losses as functions of the critic's raw outputs (logits or scores) on real and
// fake batches: minimax (saturating G), non-saturating, Wasserstein, hinge and least squares. Each returns a
// scalar to minimise; one-sided label smoothing s sets the real target to 1 - s where a target exists.
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ganglion {

enum class GanLoss { Minimax, NonSaturating, Wasserstein, Hinge, LeastSquares };

const std::vector<std::string>& gan_loss_names();  // "minimax", "nonsaturating", "wasserstein", "hinge", "lsgan"
GanLoss parse_gan_loss(const std::string& name);    // Error naming the accepted values
std::string gan_loss_name(GanLoss l);

// minimax/nonsaturating: BCE(real, 1-s) + BCE(fake, 0) on logits; wasserstein: mean(fake) - mean(real);
// hinge: mean(relu(1 - real)) + mean(relu(1 + fake)); lsgan: (mean((real-(1-s))^2) + mean(fake^2)) / 2.
Tensor d_loss(GanLoss l, const Tensor& real, const Tensor& fake, float label_smoothing = 0.f);
// minimax: -BCE(fake, 0) = mean(log(1 - sigmoid(fake))); nonsaturating: BCE(fake, 1);
// wasserstein and hinge: -mean(fake); lsgan: mean((fake - 1)^2) / 2.
Tensor g_loss(GanLoss l, const Tensor& fake);

}  // namespace ganglion
