// tests/test_gan_losses_golden.cpp — the GAN layer's losses and the R1 penalty (through a Module critic) against
// PyTorch golden values (tests/golden/data/gan_losses.safetensors and penalty_r1.safetensors).
#include <catch2/catch.hpp>

#include "core/ops.h"
#include "gan/losses.h"
#include "gan/penalty.h"
#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/linear.h"
#include "layers/sequential.h"
#include "test_util.h"

using namespace ganglion;

TEST_CASE("gan losses: every D and G loss and its gradients match PyTorch", "[gan][golden]") {
  gtest::Golden g = gtest::load_golden("gan_losses.safetensors");
  for (const std::string& name : gan_loss_names()) {
    GanLoss kind = parse_gan_loss(name);
    for (int s : {0, 1}) {
      Tensor real = g["real"].contiguous_copy().set_requires_grad();
      Tensor fake = g["fake"].contiguous_copy().set_requires_grad();
      std::string key = "d." + name + ".s" + std::to_string(s);
      Tensor loss = d_loss(kind, real, fake, 0.1f * static_cast<float>(s));
      std::vector<Tensor> gr = grad({loss}, {real, fake}, {}, false, true);
      gtest::check_close(loss, g[key], key, 1e-5, 0.0);
      gtest::check_close(gr[0], g[key + ".grad_real"], key + ".grad_real", 1e-5, 0.0);
      gtest::check_close(gr[1], g[key + ".grad_fake"], key + ".grad_fake", 1e-5, 0.0);
    }
    Tensor fake = g["fake"].contiguous_copy().set_requires_grad();
    Tensor loss = g_loss(kind, fake);
    gtest::check_close(loss, g["g." + name], "g." + name, 1e-5, 0.0);
    gtest::check_close(grad({loss}, {fake})[0], g["g." + name + ".grad_fake"], "g." + name + ".grad_fake", 1e-5, 0.0);
  }
}

TEST_CASE("gan penalties: R1 through a Module critic matches PyTorch", "[gan][golden]") {
  gtest::Golden g = gtest::load_golden("penalty_r1.safetensors");
  Generator gen(0);
  Sequential critic;
  critic.push_back(std::make_shared<Conv2d>(1, 4, 4, gen, Conv2dArgs{.stride = 2, .padding = 1}));
  critic.push_back(std::make_shared<LeakyReLU>(0.2f));
  critic.push_back(std::make_shared<Conv2d>(4, 8, 4, gen, Conv2dArgs{.stride = 2, .padding = 1}));
  critic.push_back(std::make_shared<LeakyReLU>(0.2f));
  critic.push_back(std::make_shared<Flatten>());
  critic.push_back(std::make_shared<Linear>(32, 1, gen));
  TensorMap weights;
  for (auto& [name, p] : critic.named_parameters()) weights[name] = g["param." + name];
  critic.load_state_dict(weights);
  Tensor pen = r1_penalty(critic, g["real"], 10.f);
  gtest::check_close(pen, g["penalty"], "R1 penalty", 1e-4, 0.0);
  std::vector<Tensor> params = critic.parameters();
  std::vector<Tensor> grads = grad({pen}, params, {}, false, /*allow_unused=*/true);
  auto named = critic.named_parameters();
  for (size_t i = 0; i < named.size(); ++i) {
    gtest::check_close(grads[i], g["grad." + named[i].first], "dR1/d" + named[i].first, 1e-4, 0.01);
  }
}
