// Counter-based random numbers shared by the CPU and CUDA backends.
// Dropout must draw the same mask on both devices for the same seed, so the random value of element
// i is a pure function of (seed, i): no generator state, any thread can compute any element.
#pragma once
#include <cstdint>

#include "dlcore/scalar_types.h"  // DLCORE_HOST_DEVICE

namespace dlcore::rng {

// splitmix64's finaliser: a bijective mix whose output bits all depend on every input bit.
DLCORE_HOST_DEVICE inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// 64 random bits for element `index` of the stream named by `seed`. The seed is mixed first so
// that neighbouring seeds do not give shifted copies of the same stream.
DLCORE_HOST_DEVICE inline uint64_t hash_u64(uint64_t seed, uint64_t index) {
  return mix64(mix64(seed) + (index + 1) * 0x9E3779B97F4A7C15ULL);
}

// Uniform float in [0, 1) with 24 random bits, so every value is exact in float on any device.
DLCORE_HOST_DEVICE inline float uniform_float(uint64_t seed, uint64_t index) {
  return static_cast<float>(hash_u64(seed, index) >> 40) * (1.0f / 16777216.0f);
}

}  // namespace dlcore::rng
