// gan/image_grid.cpp — tiling generated images into PNG grids (written with gan/plot2d's PNG writer).
#include "gan/image_grid.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "gan/plot2d.h"
#include "kernels/common.h"

namespace ganglion {

std::pair<int, int> image_grid_size(int64_t n, int64_t s, int64_t per_row, int pad) {
  const int64_t cols = std::min(n, per_row), rows = (n + per_row - 1) / per_row;
  return {static_cast<int>(cols * (s + pad) + pad), static_cast<int>(rows * (s + pad) + pad)};
}

void write_image_grid_png(const std::string& path, const Tensor& x, int64_t per_row, int pad) {
  if (x.dim() != 4 || (x.size(1) != 1 && x.size(1) != 3) || x.size(2) != x.size(3) || x.size(0) == 0)
    throw Error("write_image_grid_png('" + path + "'): expected [N, 1|3, S, S] images, got " + shape_str(x.shape()));
  if (per_row <= 0) throw Error("write_image_grid_png: per_row must be positive");
  const int64_t n = x.size(0), c = x.size(1), s = x.size(2), plane = s * s;
  const auto [w, h] = image_grid_size(n, s, per_row, pad);
  std::vector<uint8_t> rgb(static_cast<size_t>(w) * h * 3, 40);
  const std::vector<float> v = x.to_vector();
  auto byte = [](float f) {
    if (!std::isfinite(f)) return uint8_t{0};
    return static_cast<uint8_t>(std::lround(std::clamp((f + 1.f) * 127.5f, 0.f, 255.f)));
  };
  for (int64_t i = 0; i < n; ++i) {
    const int64_t x0 = pad + (i % per_row) * (s + pad), y0 = pad + (i / per_row) * (s + pad);
    const float* img = v.data() + i * c * plane;
    for (int64_t y = 0; y < s; ++y)
      for (int64_t xx = 0; xx < s; ++xx) {
        uint8_t* p = &rgb[(static_cast<size_t>(y0 + y) * w + static_cast<size_t>(x0 + xx)) * 3];
        for (int64_t k = 0; k < 3; ++k) p[k] = byte(img[(c == 1 ? 0 : k) * plane + y * s + xx]);
      }
  }
  write_png_rgb(path, w, h, rgb);
}

}  // namespace ganglion
