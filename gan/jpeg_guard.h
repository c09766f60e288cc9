// gan/jpeg_guard.h — a check run on JPEG bytes before stb_image sees them, for a defect of the stb_image the
// system provides (Debian's 2.27): a Huffman table (DHT) whose 16 code counts add up to more than 256 makes
// stbi__build_huffman write past its 257-entry size array (found by fuzz/fuzz_image.cpp; newer stb_image
// refuses such tables itself). The check refuses what stb would overflow on and lets every valid JPEG through.
#pragma once
#include <cstdint>
#include <span>
#include <string>

namespace ganglion {

// "" when `bytes` is not a JPEG or holds no oversized Huffman table, else what is wrong with it.
std::string jpeg_huffman_defect(std::span<const uint8_t> bytes);

}  // namespace ganglion
