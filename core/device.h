// core/device.h — where a tensor lives (CPU or CUDA), the default device, and the user-facing choice
// "auto|cpu|cuda" with the message that says which was taken and why.
#pragma once
#include <string>

namespace ganglion {

struct Device {
  enum class Kind { CPU, CUDA };
  Kind kind = Kind::CPU;
  static Device cpu() { return Device{Kind::CPU}; }
  static Device cuda() { return Device{Kind::CUDA}; }
  bool is_cpu() const { return kind == Kind::CPU; }
  bool is_cuda() const { return kind == Kind::CUDA; }
  bool operator==(const Device& o) const { return kind == o.kind; }
  bool operator!=(const Device& o) const { return kind != o.kind; }
  std::string str() const { return is_cpu() ? "cpu" : "cuda"; }
};

// True when CUDA was compiled in and a GPU is usable now; *why says why not.
bool cuda_available(std::string* why = nullptr);

// Resolves "auto", "cpu" or "cuda". "auto" takes CUDA when usable, else the CPU, and writes to *message what
// it chose and why ("CUDA driver not found: running on CPU"). "cuda" with no usable GPU throws Error with the
// reason; anything else throws Error naming the accepted values.
Device resolve_device(const std::string& choice, std::string* message = nullptr);

}  // namespace ganglion
