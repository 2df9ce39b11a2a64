// The element types a tensor can hold, as C++ types usable on the host and in CUDA device code:
// float16 and bfloat16 are 16-bit storage types converted through float (round to nearest even),
// so the CPU and CUDA backends compute them identically and the CPU is the reference.
#pragma once
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define DLCORE_HOST_DEVICE __host__ __device__
#else
#define DLCORE_HOST_DEVICE
#endif

namespace dlcore {

namespace detail {
DLCORE_HOST_DEVICE inline uint32_t float_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}
DLCORE_HOST_DEVICE inline float bits_float(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}
}  // namespace detail

// IEEE 754 binary16.
struct Half {
  uint16_t bits = 0;
  Half() = default;
  DLCORE_HOST_DEVICE Half(float f) : bits(from_float(f)) {}  // NOLINT: implicit, like a numeric type
  DLCORE_HOST_DEVICE operator float() const { return to_float(bits); }

  DLCORE_HOST_DEVICE static uint16_t from_float(float f) {
    const uint32_t x = detail::float_bits(f);
    const uint32_t sign = (x >> 16) & 0x8000u;
    const uint32_t abs = x & 0x7FFFFFFFu;
    if (abs > 0x7F800000u) return static_cast<uint16_t>(sign | 0x7E00u);  // NaN stays a quiet NaN
    if (abs >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);  // rounds to infinity
    if (abs < 0x38800000u) {  // subnormal or zero in half: scale into an integer and round
      const float scaled = detail::bits_float(abs) * 16777216.0f;  // 2^24: one unit = smallest half
      uint32_t m = static_cast<uint32_t>(scaled);
      const float rest = scaled - static_cast<float>(m);
      if (rest > 0.5f || (rest == 0.5f && (m & 1u))) ++m;
      return static_cast<uint16_t>(sign | m);
    }
    // Normal: rebias the exponent, round the 13 dropped mantissa bits to nearest even.
    uint32_t h = ((abs >> 13) - (112u << 10));
    const uint32_t dropped = abs & 0x1FFFu;
    if (dropped > 0x1000u || (dropped == 0x1000u && (h & 1u))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  DLCORE_HOST_DEVICE static float to_float(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1Fu;
    const uint32_t mant = h & 0x3FFu;
    if (exp == 0x1Fu) return detail::bits_float(sign | 0x7F800000u | (mant << 13));
    if (exp == 0) {  // zero or subnormal: mant * 2^-24
      const float v = static_cast<float>(mant) * (1.0f / 16777216.0f);
      return sign ? -v : v;
    }
    return detail::bits_float(sign | ((exp + 112u) << 23) | (mant << 13));
  }
};

// bfloat16: the top half of a float32.
struct BFloat16 {
  uint16_t bits = 0;
  BFloat16() = default;
  DLCORE_HOST_DEVICE BFloat16(float f) : bits(from_float(f)) {}  // NOLINT: implicit, like a numeric type
  DLCORE_HOST_DEVICE operator float() const { return detail::bits_float(static_cast<uint32_t>(bits) << 16); }

  DLCORE_HOST_DEVICE static uint16_t from_float(float f) {
    const uint32_t x = detail::float_bits(f);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
    const uint32_t rounding = 0x7FFFu + ((x >> 16) & 1u);
    return static_cast<uint16_t>((x + rounding) >> 16);
  }
};

// The type arithmetic on T is carried out in: 16-bit floats compute in float (PyTorch's opmath).
template <typename T> struct OpMath { using type = T; };
template <> struct OpMath<Half> { using type = float; };
template <> struct OpMath<BFloat16> { using type = float; };
template <typename T> using opmath_t = typename OpMath<T>::type;

}  // namespace dlcore
