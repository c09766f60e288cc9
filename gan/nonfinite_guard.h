// gan/nonfinite_guard.h — the check made after each backward pass and before its optimiser update: one reduction
// on the tensors' own device (the sum of squares of every gradient, plus 0 x each loss so that a NaN/Inf loss
// poisons the total) and a single host read. Only when that total is not finite does a slower pass name where the
// bad value is: the first non-finite loss, else the parameter (PyTorch-style name) whose gradient the backward
// pass reached first, else a gradient norm that overflowed float32.
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"
#include "layers/module.h"

namespace ganglion {

// What run() does when a check fails (TrainConfig::on_nan): stop (write the last good state, exit non-zero),
// skip (drop the step's remaining updates), rollback (restore the newest checkpoint, cut the learning rates).
enum class NanPolicy { Stop, Skip, Rollback };
// "stop" | "skip" | "rollback"; anything else is an Error naming on_nan and the accepted values.
NanPolicy parse_nan_policy(const std::string& name);

// A loss to check, with the name the message uses, e.g. {"loss_d (nonsaturating critic loss)", t}.
struct NamedLoss {
  std::string name;
  Tensor value;
};

struct GuardResult {
  bool finite = true;
  double grad_norm = 0;  // the L2 norm over every gradient (when finite)
  std::string where;     // when not finite: e.g. "gradient of D.2.weight (3 of 64 values NaN/Inf)"
};

// Checks `losses` and the gradients of `params` (names as they should appear, e.g. "D.0.weight"); parameters
// with no gradient are left out. Runs with no autograd recording.
GuardResult check_finite(const std::vector<NamedLoss>& losses, const NamedTensors& params);

// `params` with every name prefixed (e.g. "G." for the generator's).
NamedTensors prefixed(const NamedTensors& params, const std::string& prefix);

}  // namespace ganglion
