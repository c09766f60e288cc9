// gan/plot2d.cpp — rasterising 2-D scatter plots and writing PNGs (the one stb_image_write implementation).
#include "gan/plot2d.h"

#include <algorithm>
#include <cmath>

#include "kernels/common.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
#pragma GCC diagnostic pop

namespace ganglion {

void write_png_rgb(const std::string& path, int width, int height, const std::vector<uint8_t>& rgb) {
  if (rgb.size() != static_cast<size_t>(width) * height * 3) throw Error("write_png_rgb: buffer size mismatch");
  if (!stbi_write_png(path.c_str(), width, height, 3, rgb.data(), width * 3))
    throw Error("cannot write PNG '" + path + "'");
}

float plot_extent(const Mixture2d& m) {
  if (!m.has_modes()) return 2.4f;
  float r = 0.f;
  for (const auto& mu : m.means) r = std::max({r, std::fabs(mu[0]), std::fabs(mu[1])});
  return r * 1.5f + 10.f * m.std;
}

namespace {
struct Canvas {
  int size;
  std::vector<uint8_t> px;
  explicit Canvas(int s) : size(s), px(static_cast<size_t>(s) * s * 3, 255) {}
  void put(int x, int y, uint8_t r, uint8_t g, uint8_t b) {
    if (x < 0 || y < 0 || x >= size || y >= size) return;
    uint8_t* p = &px[(static_cast<size_t>(y) * size + x) * 3];
    p[0] = r, p[1] = g, p[2] = b;
  }
};
}  // namespace

void write_scatter_png(const std::string& path, const std::vector<float>& xy, const Mixture2d& m, int size) {
  Canvas c(size);
  const float ext = plot_extent(m);
  auto to_px = [&](float v) { return (v + ext) / (2.f * ext) * static_cast<float>(size - 1); };
  // Axes through the origin, light grey.
  int o = static_cast<int>(std::lround(to_px(0.f)));
  for (int i = 0; i < size; ++i) c.put(i, o, 230, 230, 230), c.put(o, i, 230, 230, 230);
  // Mode rings at 3 std (at least 4 pixels), mid grey.
  for (const auto& mu : m.means) {
    float cx = to_px(mu[0]), cy = to_px(-mu[1]);
    float rad = std::max(4.f, 3.f * m.std / (2.f * ext) * static_cast<float>(size));
    for (int a = 0; a < 64; ++a) {
      float t = 6.2831853f * static_cast<float>(a) / 64.f;
      c.put(static_cast<int>(std::lround(cx + rad * std::cos(t))), static_cast<int>(std::lround(cy + rad * std::sin(t))),
            150, 150, 150);
    }
  }
  // Samples: 2x2 dots, blue (y up).
  for (size_t i = 0; i + 1 < xy.size(); i += 2) {
    if (!std::isfinite(xy[i]) || !std::isfinite(xy[i + 1])) continue;
    int x = static_cast<int>(std::lround(to_px(xy[i]))), y = static_cast<int>(std::lround(to_px(-xy[i + 1])));
    for (int dy = 0; dy < 2; ++dy)
      for (int dx = 0; dx < 2; ++dx) c.put(x + dx, y + dy, 31, 100, 200);
  }
  write_png_rgb(path, size, size, c.px);
}

}  // namespace ganglion
