// gan/stb_guard.h — checks run on image bytes before stb_image sees them, for defects of the stb_image the system
// provides (Debian's 2.27) that fuzz/fuzz_image.cpp found; each refuses only what no valid file contains.
//  - JPEG: a Huffman table (DHT) whose 16 code counts add up to more than 256 makes stbi__build_huffman write
//    past its 257-entry size array (newer stb_image refuses such tables itself).
//  - PNG: an IDAT chunk's length is trusted before its bytes are read, so a 200-byte file claiming a 1 GB chunk
//    makes stb allocate 1 GB; every chunk must fit in the bytes that follow its header.
#pragma once
#include <cstdint>
#include <span>
#include <string>

namespace ganglion {

// "" when stb_image can be given `bytes` safely, else what is wrong with them (for an error message).
std::string stb_input_defect(std::span<const uint8_t> bytes);

}  // namespace ganglion
