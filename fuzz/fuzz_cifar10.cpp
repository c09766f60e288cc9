// fuzz/fuzz_cifar10.cpp — fuzzes the CIFAR-10 binary batch reader (parse_cifar10, gzip or plain).
// Input: an options byte (bits 0-1: output size 32/16/8/64; bits 2-3: limit 0/1/2/3), then the batch file.
#include "fuzz/fuzz_input.h"
#include "gan/image_data.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ganglion;
  fuzz::FuzzInput in(data, size);
  const uint8_t opt = in.byte();
  const int64_t sizes[] = {32, 16, 8, 64};
  const int64_t limit = (opt >> 2) & 3;
  const auto batch = in.rest();
  fuzz::expect_only_errors([&] {
    ImageDataset ds = parse_cifar10(batch, "data_batch_1.bin", sizes[opt & 3], limit);
    if (ds.labels.size() != static_cast<size_t>(ds.size())) __builtin_trap();  // one label per image
    if (limit > 0 && ds.size() > limit) __builtin_trap();
  });
  return 0;
}
