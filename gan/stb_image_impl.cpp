// gan/stb_image_impl.cpp — the one stb_image implementation (PNG, JPEG and BMP only; the image-folder reader in
// gan/image_data.cpp calls it, after gan/stb_guard.cpp has checked the bytes). It is its own translation unit so
// that the sanitizer build can leave out, for Debian's stb_image 2.27 alone, the one check that its JPEG decoder
// trips on corrupt input: a shift by 32 or more in stbi__grow_buffer_unsafe once a bad Huffman code has driven
// the bit count negative (nothings/stb issue 1293, fixed upstream in 2.28). The decode fails or yields garbage
// pixels either way; CMakeLists.txt adds -fno-sanitize=shift to this file only, and every other check
// (AddressSanitizer included) stays on for it.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#define STBI_ONLY_PNG  // the formats the folder reader accepts, and no more decoder code than those
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#include <stb_image.h>
