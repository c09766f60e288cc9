// gan/image_grid.h — image batches as PNG files: a grid of [N, C, S, S] images in [-1, 1] (C = 1 grey or 3 RGB)
// with a 2-pixel border, one image alone, or rows of equal length (latent interpolation strips).
#pragma once
#include <cstdint>
#include <string>

#include "core/tensor.h"

namespace ganglion {

// Tiles x (any device) into rows of `per_row` images (the last row may be short) with `pad` pixels of dark grey
// between and around them, and writes the PNG. Error naming the path, or the shape when x is not [N, 1|3, S, S].
void write_image_grid_png(const std::string& path, const Tensor& x, int64_t per_row, int pad = 2);
// The grid's size in pixels for n images of side s: {width, height}.
std::pair<int, int> image_grid_size(int64_t n, int64_t s, int64_t per_row, int pad = 2);

}  // namespace ganglion
