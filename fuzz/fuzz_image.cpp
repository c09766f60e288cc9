// fuzz/fuzz_image.cpp — fuzzes the image-folder decoder (decode_image: stb_image for PNG, JPEG and BMP, then
// the centre crop and the resize). Input: an options byte (bit 0: 1 or 3 channels; bits 1-2: output size
// 8/28/32/64), then the image file.
#include "fuzz/fuzz_input.h"
#include "gan/image_data.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ganglion;
  fuzz::FuzzInput in(data, size);
  const uint8_t opt = in.byte();
  const int64_t channels = opt & 1 ? 3 : 1;
  const int64_t sizes[] = {8, 28, 32, 64};
  const int64_t side = sizes[(opt >> 1) & 3];
  const auto file = in.rest();
  fuzz::expect_only_errors([&] {
    Tensor t = decode_image(file, "image.png", side, channels);
    if (t.shape() != Shape{1, channels, side, side}) __builtin_trap();
  });
  return 0;
}
