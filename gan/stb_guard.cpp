// gan/stb_guard.cpp — the checks of gan/stb_guard.h. JPEG: walks the segments the way stb does before the first scan (markers after 0xFF fill bytes, skipping stray bytes between
// segments, each segment by its length), and from the first scan on, where entropy-coded data hides the segment
// structure, treats every FF C4 byte pair as a table definition: in valid data such a pair is only ever a marker.
#include "gan/stb_guard.h"

#include <algorithm>

namespace ganglion {
namespace {

size_t be16(std::span<const uint8_t> b, size_t at) {
  if (at + 2 > b.size()) return 0;
  return static_cast<size_t>(b[at]) << 8 | b[at + 1];
}

// The DHT segment whose length field is at `at`: every table in it (and any that stb would read past its end)
// must have at most 256 codes. Bytes past the end of the input read as 0, as stb reads them.
std::string check_dht(std::span<const uint8_t> b, size_t at) {
  const size_t len = be16(b, at);
  long remaining = static_cast<long>(len) - 2;
  size_t p = at + 2;
  while (remaining > 0 && p < b.size()) {
    if ((b[p] >> 4) > 1 || (b[p] & 15) > 3) return "";  // stb refuses this table class itself
    int codes = 0;
    for (size_t i = 1; i <= 16; ++i) codes += p + i < b.size() ? b[p + i] : 0;
    if (codes > 256)
      return "corrupt JPEG: a Huffman table defines " + std::to_string(codes) + " codes (at most 256)";
    p += 17 + static_cast<size_t>(codes);
    remaining -= 17 + codes;
  }
  return "";
}

std::string jpeg_huffman_defect(std::span<const uint8_t> b) {
  size_t p = 0;
  if (b.empty() || b[0] != 0xFF) return "";  // stb's JPEG test: 0xFF, fill bytes, then SOI (0xD8)
  while (p < b.size() && b[p] == 0xFF) ++p;
  if (p >= b.size() || b[p] != 0xD8) return "";
  ++p;
  while (p < b.size()) {  // segments before the first scan
    if (b[p] != 0xFF) {
      ++p;
      continue;
    }
    while (p < b.size() && b[p] == 0xFF) ++p;
    if (p >= b.size()) return "";
    const uint8_t marker = b[p++];
    if (marker == 0xD9) return "";                                              // end of image
    if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length field
    if (marker == 0xC4) {
      std::string defect = check_dht(b, p);
      if (!defect.empty()) return defect;
    }
    const size_t len = be16(b, p);
    if (len < 2) return "";  // stb stops here
    p += len;
    if (marker == 0xDA) break;  // start of scan
  }
  for (; p + 1 < b.size(); ++p) {  // scans and whatever follows them
    if (b[p] == 0xFF && b[p + 1] == 0xC4) {
      std::string defect = check_dht(b, p + 2);
      if (!defect.empty()) return defect;
    }
  }
  return "";
}

// PNG: every chunk (4-byte length, 4-byte type, data, 4-byte CRC) must fit in the input.
std::string png_chunk_defect(std::span<const uint8_t> b) {
  static const uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
  if (b.size() < 8 || !std::equal(kSignature, kSignature + 8, b.begin())) return "";
  for (size_t p = 8; p + 8 <= b.size();) {
    const uint64_t len = uint64_t(b[p]) << 24 | uint64_t(b[p + 1]) << 16 | uint64_t(b[p + 2]) << 8 | b[p + 3];
    const bool end = b[p + 4] == 'I' && b[p + 5] == 'E' && b[p + 6] == 'N' && b[p + 7] == 'D';
    if (len > b.size() - (p + 8))
      return "corrupt PNG: a chunk claims " + std::to_string(len) + " bytes but only " +
             std::to_string(b.size() - (p + 8)) + " follow it";
    if (end) break;
    p += 12 + static_cast<size_t>(len);
  }
  return "";
}

}  // namespace

std::string stb_input_defect(std::span<const uint8_t> bytes) {
  std::string defect = jpeg_huffman_defect(bytes);
  return defect.empty() ? png_chunk_defect(bytes) : defect;
}

}  // namespace ganglion
