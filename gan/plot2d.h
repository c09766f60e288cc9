// gan/plot2d.h — scatter plots of 2-D samples as PNG files: points drawn into an RGB buffer (the dataset's modes
// as grey rings, samples as dots), written with stb_image_write. Also the PNG writer the rest of gan/ uses.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "gan/data2d.h"

namespace ganglion {

// Writes an 8-bit RGB image (row-major, 3 bytes a pixel) as PNG; Error naming the path on failure.
void write_png_rgb(const std::string& path, int width, int height, const std::vector<uint8_t>& rgb);

// The square half-width that frames the dataset (1.5x the farthest mode plus 10 std; swissroll 2.4).
float plot_extent(const Mixture2d& m);

// Draws interleaved (x, y) samples over [-extent, extent]^2 at size x size pixels with the modes of m.
void write_scatter_png(const std::string& path, const std::vector<float>& xy, const Mixture2d& m, int size = 320);

}  // namespace ganglion
