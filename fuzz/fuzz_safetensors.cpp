// fuzz/fuzz_safetensors.cpp — fuzzes the safetensors reader (load_safetensors_from_memory, the code path
// load_safetensors uses for files). Input: the whole file.
#include "core/safetensors.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ganglion;
  fuzz::expect_only_errors([&] {
    std::map<std::string, std::string> metadata;
    TensorMap tensors = load_safetensors_from_memory(data, size, "fuzz.safetensors", &metadata);
    // An accepted file's tensors come from its bytes: at most twice its size once loaded (F16/BF16 -> F32).
    uint64_t bytes = 0;
    for (const auto& [name, t] : tensors) bytes += static_cast<uint64_t>(t.numel()) * 4;
    if (bytes > 2 * static_cast<uint64_t>(size)) __builtin_trap();
  });
  return 0;
}
