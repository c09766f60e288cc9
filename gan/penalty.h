// gan/penalty.h — critic regularisers: the WGAN-GP gradient penalty on interpolates, R1 on real data, and
// weight clipping (the original WGAN). The penalties return a scalar with a graph (double backward), to be
// added to the critic's loss.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"
#include "layers/module.h"

namespace ganglion {

enum class Penalty { None, GradientPenalty, R1, WeightClip };
const std::vector<std::string>& penalty_names();  // "none", "gp", "r1", "clip"
Penalty parse_penalty(const std::string& name);   // Error naming the accepted values
std::string penalty_name(Penalty p);

// lambda * mean_j (||grad_x̂ D(x̂)_j|| - 1)^2 with x̂ = eps*real + (1-eps)*fake, eps ~ U(0,1) from g. `group`
// rows of x form one critic input (PacGAN packing): eps is drawn per group and the norm taken over the group.
// real/fake [N, ...] with N divisible by group; fake is detached here.
Tensor wgan_gp(Module& critic, const Tensor& real, const Tensor& fake, float lambda, Generator& g,
               int64_t group = 1);
// gamma/2 * mean_j ||grad_x D(real)_j||^2 with the same grouping.
Tensor r1_penalty(Module& critic, const Tensor& real, float gamma, int64_t group = 1);
// Clamps every parameter of the critic into [-c, c] in place.
void clip_weights(Module& critic, float c);

}  // namespace ganglion
