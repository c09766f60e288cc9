// benchmarks/kernels/lab_models.h — the shapes the kernel labs run at, read off the real models
// (gan/models_image.h) by running each layer once: every convolution (as the ConvShape its kernels get), every
// BatchNorm with the activation after it, and every parameter's size.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gan/models_image.h"
#include "kernels/conv.h"
#include "layers/sequential.h"

namespace ganglion::lab {

// dcgan28 (28x28x1, batch 64), dcgan64 (pytorch/examples' DCGAN: 64x64x3, batch 128), wgangp64 (dcgan64's
// shapes with a LayerNorm critic). All nz 100, ngf = ndf = 64.
struct LabModel {
  std::string name;
  ImageGanSpec spec;
  int64_t batch = 0;
};
// Parses "dcgan28,dcgan64"; batch_override > 0 replaces each model's batch. Throws Error naming a bad name.
std::vector<LabModel> parse_models(const std::string& list, int64_t batch_override);
LabModel find_model(const std::string& name, int64_t batch_override);

// The generator and discriminator, built from a fixed seed (the labs only need their shapes and sizes).
struct ModelPair {
  std::shared_ptr<Sequential> G, D;
};
ModelPair build(const LabModel& m, uint64_t seed = 1);

// One convolution layer as its kernels see it. A ConvTranspose2d's forward is conv2d_backward_data on `shape`
// (its input is the ConvShape's y, its output the ConvShape's x); its backward-data is conv2d_forward.
struct ConvLayer {
  std::string name;  // "dcgan64 G.3 ConvT(512->256)"
  bool transposed = false;
  ConvShape shape;
};
std::vector<ConvLayer> conv_layers(const LabModel& m);

// One BatchNorm layer over [N, C, L] and the activation the model applies after it.
struct BnLayer {
  std::string name;  // "dcgan64 G.1 BN(512)"
  int64_t N = 0, C = 0, L = 0;
  bool leaky = false;  // LeakyReLU(slope) after it, else ReLU
  float slope = 0.f;
};
std::vector<BnLayer> bn_layers(const LabModel& m);

// Every parameter's element count, G's then D's, in the order the optimisers hold them.
std::vector<int64_t> parameter_sizes(const LabModel& m);

// Nominal FLOPs of one convolution pass (any of the three directions): 2 * N*K*P*Q*C*R*S.
double conv_flops(const ConvShape& c);
std::string conv_str(const ConvShape& c);  // "x[128,3,64,64] w[64,3,4,4] y[128,64,32,32] s2 p1"

}  // namespace ganglion::lab
