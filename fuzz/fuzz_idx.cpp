// fuzz/fuzz_idx.cpp — fuzzes the MNIST IDX reader (parse_mnist: gzip or plain images and labels).
// Input: an options byte (bit 0: labels present; bits 1-2: output size 28/14/32/7; bits 3-4: limit 0/1/2/5),
// a 16-bit length-prefixed label file, then the image file.
#include "fuzz/fuzz_input.h"
#include "gan/image_data.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ganglion;
  fuzz::FuzzInput in(data, size);
  const uint8_t opt = in.byte();
  const int64_t sizes[] = {28, 14, 32, 7}, limits[] = {0, 1, 2, 5};
  const auto labels = in.part16();
  const auto images = in.rest();
  fuzz::expect_only_errors([&] {
    ImageDataset ds = parse_mnist(images, "images", opt & 1 ? std::optional(labels) : std::nullopt, "labels",
                                  sizes[(opt >> 1) & 3], limits[(opt >> 3) & 3]);
    if (ds.images.size(2) != sizes[(opt >> 1) & 3]) __builtin_trap();  // the promised output size
  });
  return 0;
}
