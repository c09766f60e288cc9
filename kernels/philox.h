// kernels/philox.h — the Philox4x32-10 counter-based generator (Salmon et al., SC'11), as inline functions
// usable from host and device code, so the CPU and CUDA twins of kernels/rng.h produce identical bits.
// Element i of a fill with (seed, offset) takes word i%4 of philox(counter = offset + i/4, key = seed).
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define GANGLION_HD __host__ __device__ __forceinline__
#else
#define GANGLION_HD inline
#endif

namespace ganglion::philox {

struct U4 {
  uint32_t x, y, z, w;
};

GANGLION_HD uint32_t mulhilo(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t p = static_cast<uint64_t>(a) * static_cast<uint64_t>(b);
  *hi = static_cast<uint32_t>(p >> 32);
  return static_cast<uint32_t>(p);
}

// Ten rounds of Philox4x32 on counter c with 64-bit key k.
GANGLION_HD U4 philox4x32_10(U4 c, uint32_t k0, uint32_t k1) {
  const uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, hi1;
    uint32_t lo0 = mulhilo(M0, c.x, &hi0);
    uint32_t lo1 = mulhilo(M1, c.z, &hi1);
    c = U4{hi1 ^ c.y ^ k0, lo1, hi0 ^ c.w ^ k1, lo0};
    k0 += W0;
    k1 += W1;
  }
  return c;
}

// The four words for block `block` of stream (seed, offset).
GANGLION_HD U4 block(uint64_t seed, uint64_t offset, uint64_t blk) {
  uint64_t ctr = offset + blk;
  return philox4x32_10(U4{static_cast<uint32_t>(ctr), static_cast<uint32_t>(ctr >> 32), 0u, 0u},
                       static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// A uniform float in (0, 1]: 24 random bits, never zero (safe for log).
GANGLION_HD float uniform01(uint32_t bits) { return (static_cast<float>(bits >> 8) + 1.0f) * (1.0f / 16777216.0f); }

GANGLION_HD uint32_t word(const U4& u, int i) { return i == 0 ? u.x : i == 1 ? u.y : i == 2 ? u.z : u.w; }

}  // namespace ganglion::philox
