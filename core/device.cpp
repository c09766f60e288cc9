// core/device.cpp — device choice (auto|cpu|cuda), CUDA detection as the engine sees it, and the dispatch
// settings (which CUDA implementation conv/batchnorm use).
#include <cstdlib>
#include <mutex>

#include "core/device.h"
#include "core/dispatch.h"

namespace ganglion {

void throw_no_cuda(const char* op) {
  throw Error(std::string(op) + ": this tensor is on CUDA but Ganglion was built without CUDA");
}

void rethrow_in_op(const Error& e, const char* kernel) {
  const std::string name = *current_op() ? current_op() : kernel;
  const std::string what = e.what();
  if (what.rfind(name + ":", 0) == 0) throw e;
  throw Error(name + ": " + what);
}

bool cuda_available(std::string* why) { return cuda::available(why); }

Device resolve_device(const std::string& choice, std::string* message) {
  std::string why;
  if (choice == "cpu") {
    if (message) *message = "running on CPU (asked for)";
    return Device::cpu();
  }
  if (choice == "cuda" || choice == "gpu") {
    if (!cuda_available(&why)) throw Error("--device cuda: no usable GPU: " + why);
    if (message) *message = "running on CUDA: " + cuda::device_name();
    return Device::cuda();
  }
  if (choice == "auto" || choice.empty()) {
    if (cuda_available(&why)) {
      if (message) *message = "running on CUDA: " + cuda::device_name();
      return Device::cuda();
    }
    if (message) *message = why + ": running on CPU";
    return Device::cpu();
  }
  throw Error("--device: unknown device '" + choice + "' (expected auto, cpu or cuda)");
}

namespace {
std::once_flag g_conv_once;
CudaImpl g_conv_impl = CudaImpl::Native;
}  // namespace

CudaImpl cuda_conv_impl() {
  std::call_once(g_conv_once, [] {
    const char* v = std::getenv("GANGLION_CONV");
    if (!v || std::string(v).empty() || std::string(v) == "native") return;
    if (std::string(v) == "cudnn") {
      g_conv_impl = CudaImpl::Cudnn;
      return;
    }
    throw Error(std::string("GANGLION_CONV: unknown value '") + v + "' (expected native or cudnn)");
  });
  return g_conv_impl;
}

void set_cuda_conv_impl(CudaImpl impl) {
  cuda_conv_impl();  // consume the environment first so it cannot override this later
  g_conv_impl = impl;
}

}  // namespace ganglion
