// tests/test_dcgan_step.cpp — the model-step test (llm.c's test_gpt2 habit): three DCGAN training steps from
// PyTorch's initial weights and inputs (tests/golden/data/dcgan_3step.safetensors, written by make_golden.py),
// checking every loss, the step-0 gradients and every final parameter and buffer, on the CPU and on CUDA.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>

#include "core/autograd.h"
#include "core/device.h"
#include "core/ops.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/norm.h"
#include "layers/optim.h"
#include "layers/sequential.h"

using namespace ganglion;

namespace {

const std::string kGolden = std::string(GANGLION_TEST_DATA) + "/dcgan_3step.safetensors";

// Tolerances. Only the order of float32 summation differs from PyTorch (conv/BN reductions, cuDNN vs ours), so
// the losses and step-0 gradients agree to ~1e-7 and 1e-4 relative is a loose bound. After three Adam steps the
// parameters are compared by ||a-b||/||b|| over the whole tensor, not element by element: Adam divides by
// sqrt(v), so an element whose gradient is ~0 may move by up to lr (2e-4) on a rounding difference, while the
// weights' norm is ~0.02*sqrt(numel). Observed worst case (CPU and H100): 8.6e-7, so 1e-4 leaves ~100x headroom
// and still catches one wrong layer or a skipped update (a 1e-2 to 1e0 effect). The BatchNorm running mean is
// the most sensitive entry: it is ~1e-3 and averages ~1e-2 values, and it depends on the order of D's calls.
constexpr double kLossTol = 1e-4;
constexpr double kGradTol = 1e-4;
constexpr double kFinalTol = 1e-4;

// ||a - b|| / ||b|| (b the reference), in double on the host.
double rel_diff(const Tensor& a, const Tensor& b) {
  const auto va = a.to_vector(), vb = b.to_vector();
  REQUIRE(va.size() == vb.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    num += (static_cast<double>(va[i]) - vb[i]) * (static_cast<double>(va[i]) - vb[i]);
    den += static_cast<double>(vb[i]) * vb[i];
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}

// The tensors under "<prefix>..." with the prefix removed.
TensorMap with_prefix(const TensorMap& all, const std::string& prefix) {
  TensorMap out;
  for (const auto& [k, v] : all)
    if (k.rfind(prefix, 0) == 0) out[k.substr(prefix.size())] = v;
  return out;
}

std::shared_ptr<Sequential> make_generator(Generator& g) {
  return std::make_shared<Sequential>(std::initializer_list<ModulePtr>{
      std::make_shared<ConvTranspose2d>(16, 32, 7, g, ConvTranspose2dArgs{.bias = false}),
      std::make_shared<BatchNorm2d>(32), std::make_shared<ReLU>(),
      std::make_shared<ConvTranspose2d>(32, 16, 4, g, ConvTranspose2dArgs{.stride = 2, .padding = 1, .bias = false}),
      std::make_shared<BatchNorm2d>(16), std::make_shared<ReLU>(),
      std::make_shared<ConvTranspose2d>(16, 1, 4, g, ConvTranspose2dArgs{.stride = 2, .padding = 1, .bias = false}),
      std::make_shared<Tanh>()});
}

std::shared_ptr<Sequential> make_discriminator(Generator& g) {
  return std::make_shared<Sequential>(std::initializer_list<ModulePtr>{
      std::make_shared<Conv2d>(1, 16, 4, g, Conv2dArgs{.stride = 2, .padding = 1, .bias = false}),
      std::make_shared<LeakyReLU>(0.2f),
      std::make_shared<Conv2d>(16, 32, 4, g, Conv2dArgs{.stride = 2, .padding = 1, .bias = false}),
      std::make_shared<BatchNorm2d>(32), std::make_shared<LeakyReLU>(0.2f),
      std::make_shared<Conv2d>(32, 1, 7, g, Conv2dArgs{.stride = 1, .padding = 0, .bias = false}),
      std::make_shared<Flatten>()});
}

void check_named(const std::string& what, const NamedTensors& got, const TensorMap& want, double tol) {
  REQUIRE(got.size() == want.size());
  for (const auto& [name, t] : got) {
    INFO(what << name);
    REQUIRE(want.count(name) == 1);
    REQUIRE(t.defined());
    CHECK(t.shape() == want.at(name).shape());
    const double d = rel_diff(t, want.at(name));
    INFO("rel diff " << d);
    CHECK(d < tol);
  }
}

void run_dcgan_3step(Device dev) {
  if (!std::filesystem::exists(kGolden)) FAIL("golden file missing: " + kGolden + " (run tests/golden/make_golden.py)");
  const TensorMap golden = load_safetensors(kGolden);

  Generator g(0);  // the constructors' init is overwritten by load_state_dict
  auto G = make_generator(g);
  auto D = make_discriminator(g);
  G->to(dev);  // before loading, so that load_state_dict copies from the host into device tensors
  D->to(dev);
  G->load_state_dict(with_prefix(golden, "init.G."));
  D->load_state_dict(with_prefix(golden, "init.D."));
  G->train();
  D->train();
  Adam opt_g(G->parameters(), 2e-4f, 0.5f, 0.999f);
  Adam opt_d(D->parameters(), 2e-4f, 0.5f, 0.999f);

  const Tensor real_all = golden.at("real"), z_all = golden.at("z");
  REQUIRE(real_all.shape() == Shape{3, 8, 1, 28, 28});
  REQUIRE(z_all.shape() == Shape{3, 8, 16, 1, 1});
  const auto loss_d_ref = golden.at("loss_d").to_vector(), loss_g_ref = golden.at("loss_g").to_vector();
  const Tensor ones8 = ones({8, 1}, dev), zeros8 = zeros({8, 1}, dev);

  for (int64_t step = 0; step < 3; ++step) {
    INFO("step " << step << " on " << dev.str());
    const Tensor real = reshape(slice(real_all, 0, step, step + 1), {8, 1, 28, 28}).to(dev);
    const Tensor z = reshape(slice(z_all, 0, step, step + 1), {8, 16, 1, 1}).to(dev);

    // Discriminator step.
    D->zero_grad();
    Tensor fake = (*G)(z);
    // Two statements: the operands of + may be evaluated in either order, and the order of D's calls decides
    // its BatchNorm running statistics (real first, as in PyTorch).
    Tensor out_real = (*D)(real);
    Tensor out_fake = (*D)(fake.detach());
    Tensor loss_d = bce_with_logits(out_real, ones8) + bce_with_logits(out_fake, zeros8);
    loss_d.backward();
    if (step == 0) {
      NamedTensors grads;
      for (auto& [name, p] : D->named_parameters()) grads.emplace_back(name, p.grad());
      check_named("step0.grad.D.", grads, with_prefix(golden, "step0.grad.D."), kGradTol);
    }
    opt_d.step();

    // Generator step, reusing fake (and G's graph) from the discriminator step.
    G->zero_grad();
    Tensor loss_g = bce_with_logits((*D)(fake), ones8);
    loss_g.backward();
    if (step == 0) {
      NamedTensors grads;
      for (auto& [name, p] : G->named_parameters()) grads.emplace_back(name, p.grad());
      check_named("step0.grad.G.", grads, with_prefix(golden, "step0.grad.G."), kGradTol);
    }
    opt_g.step();

    CHECK(loss_d.item() == Approx(loss_d_ref[step]).epsilon(kLossTol));
    CHECK(loss_g.item() == Approx(loss_g_ref[step]).epsilon(kLossTol));
  }

  for (auto [tag, model] : {std::pair{"G", G}, std::pair{"D", D}}) {
    const std::string prefix = std::string("final.") + tag + ".";
    NamedTensors state;
    for (auto& [name, t] : model->state_dict()) state.emplace_back(name, t);
    check_named(prefix, state, with_prefix(golden, prefix), kFinalTol);
    for (auto& [name, t] : state) CHECK(t.device() == dev);
  }
}

}  // namespace

TEST_CASE("DCGAN: three training steps match PyTorch (CPU)", "[model][dcgan]") { run_dcgan_3step(Device::cpu()); }

TEST_CASE("DCGAN: three training steps match PyTorch (CUDA)", "[model][dcgan][cuda]") {
  std::string why;
  if (!cuda_available(&why)) {
    WARN("skipped: " + why);
    return;
  }
  run_dcgan_3step(Device::cuda());
}
