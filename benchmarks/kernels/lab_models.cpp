// benchmarks/kernels/lab_models.cpp — layer shapes of the real image models for the kernel labs (see
// lab_models.h): each model is built and run one layer at a time on a one-sample CPU input, and the shapes each
// layer sees are scaled to the lab's batch.
#include "benchmarks/kernels/lab_models.h"

#include <functional>
#include <sstream>

#include "benchmarks/kernels/lab_util.h"
#include "core/autograd.h"
#include "core/rng.h"
#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/norm.h"

namespace ganglion::lab {

LabModel find_model(const std::string& name, int64_t batch_override) {
  LabModel m;
  m.name = name;
  if (name == "dcgan28") {
    m.spec.image_size = 28, m.spec.channels = 1, m.batch = 64;
  } else if (name == "dcgan64" || name == "wgangp64") {
    m.spec.image_size = 64, m.spec.channels = 3, m.batch = 128;
    if (name == "wgangp64") m.spec.d_norm = ImageNorm::LayerNorm;
  } else {
    throw Error("unknown model '" + name + "' (expected dcgan28, dcgan64 or wgangp64)");
  }
  m.spec.nz = 100, m.spec.ngf = 64, m.spec.ndf = 64;
  if (batch_override > 0) m.batch = batch_override;
  return m;
}

std::vector<LabModel> parse_models(const std::string& list, int64_t batch_override) {
  std::vector<LabModel> out;
  for (const std::string& name : split_list(list)) out.push_back(find_model(name, batch_override));
  if (out.empty()) throw Error("--models: no model named (expected dcgan28, dcgan64 or wgangp64)");
  return out;
}

ModelPair build(const LabModel& m, uint64_t seed) {
  Generator g(seed);
  ModelPair p;
  p.G = make_image_generator(m.spec, g);
  p.D = make_image_discriminator(m.spec, g);
  return p;
}

namespace {

// Runs net one child at a time on a one-sample input (no grad, eval mode) and calls visit(name, child, x, y) with
// each child's input and output.
void walk(Sequential& net, const Shape& input,
          const std::function<void(const std::string&, Module&, const Tensor&, const Tensor&)>& visit) {
  NoGradGuard ng;
  net.eval();
  Tensor x = zeros(input);
  for (const auto& [name, child] : net.children()) {
    Tensor y = child->forward(x);
    visit(name, *child, x, y);
    x = y;
  }
  net.train();
}

Shape noise_shape(const LabModel& m) { return {1, m.spec.nz, 1, 1}; }
Shape image_shape(const LabModel& m) { return {1, m.spec.channels, m.spec.image_size, m.spec.image_size}; }

}  // namespace

std::vector<ConvLayer> conv_layers(const LabModel& m) {
  ModelPair p = build(m);
  std::vector<ConvLayer> out;
  auto visitor = [&](const std::string& net) {
    return [&, net](const std::string& name, Module& child, const Tensor& x, const Tensor& y) {
      ConvLayer l;
      ConvShape& c = l.shape;
      if (auto* conv = dynamic_cast<Conv2d*>(&child)) {
        c.C = x.size(1), c.H = x.size(2), c.W = x.size(3);
        c.K = y.size(1), c.P = y.size(2), c.Q = y.size(3);
        c.R = c.S = conv->kernel_size;
        c.stride_h = c.stride_w = conv->args.stride;
        c.pad_h = c.pad_w = conv->args.padding;
        c.dil_h = c.dil_w = conv->args.dilation;
        l.name = m.name + " " + net + "." + name + " Conv(" + std::to_string(c.C) + "->" + std::to_string(c.K) + ")";
      } else if (auto* convt = dynamic_cast<ConvTranspose2d*>(&child)) {
        l.transposed = true;
        c.K = x.size(1), c.P = x.size(2), c.Q = x.size(3);
        c.C = y.size(1), c.H = y.size(2), c.W = y.size(3);
        c.R = c.S = convt->kernel_size;
        c.stride_h = c.stride_w = convt->args.stride;
        c.pad_h = c.pad_w = convt->args.padding;
        c.dil_h = c.dil_w = convt->args.dilation;
        l.name = m.name + " " + net + "." + name + " ConvT(" + std::to_string(c.K) + "->" + std::to_string(c.C) + ")";
      } else {
        return;
      }
      c.N = m.batch;
      out.push_back(l);
    };
  };
  walk(*p.G, noise_shape(m), visitor("G"));
  walk(*p.D, image_shape(m), visitor("D"));
  return out;
}

std::vector<BnLayer> bn_layers(const LabModel& m) {
  ModelPair p = build(m);
  std::vector<BnLayer> out;
  bool after_bn = false;  // the child just visited was a BatchNorm: this one is its activation
  auto visitor = [&](const std::string& net) {
    return [&, net](const std::string& name, Module& child, const Tensor& x, const Tensor&) {
      if (dynamic_cast<BatchNorm2d*>(&child) != nullptr) {
        BnLayer l;
        l.N = m.batch, l.C = x.size(1), l.L = x.size(2) * x.size(3);
        l.name = m.name + " " + net + "." + name + " BN(" + std::to_string(l.C) + ")";
        out.push_back(l);
        after_bn = true;
        return;
      }
      if (!after_bn) return;
      after_bn = false;
      if (auto* lr = dynamic_cast<LeakyReLU*>(&child)) {
        out.back().leaky = true;
        out.back().slope = lr->negative_slope;
      } else if (dynamic_cast<ReLU*>(&child) == nullptr) {
        throw Error("bn lab: " + out.back().name + " is followed by " + child.name() + ", not ReLU or LeakyReLU");
      }
    };
  };
  walk(*p.G, noise_shape(m), visitor("G"));
  walk(*p.D, image_shape(m), visitor("D"));
  return out;
}

std::vector<int64_t> parameter_sizes(const LabModel& m) {
  ModelPair p = build(m);
  std::vector<int64_t> out;
  for (const auto* net : {&p.G, &p.D})
    for (const Tensor& t : (*net)->parameters()) out.push_back(t.numel());
  return out;
}

double conv_flops(const ConvShape& c) { return 2.0 * static_cast<double>(c.N) * c.K * c.P * c.Q * c.C * c.R * c.S; }

std::string conv_str(const ConvShape& c) {
  std::ostringstream s;
  auto dims = [&s](const char* name, int64_t a, int64_t b, int64_t cc, int64_t d) {
    s << name << "[" << a << "," << b << "," << cc << "," << d << "]";
  };
  dims("x", c.N, c.C, c.H, c.W);
  dims(" w", c.K, c.C, c.R, c.S);
  dims(" y", c.N, c.K, c.P, c.Q);
  s << " s" << c.stride_h << " p" << c.pad_h;
  return s.str();
}

}  // namespace ganglion::lab
