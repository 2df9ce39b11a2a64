// The element arithmetic of the advanced-indexing kernels, written once for the CPU and CUDA
// backends: how index_scatter's modes combine a value with the element it lands on, and which
// elements nonzero counts. The CUDA atomics apply the same combine inside their CAS loops.
#pragma once
#include <type_traits>

#include "dlcore/kernels.h"

namespace dlcore::functors {

// NaN is nonzero and -0.0 is zero (x != 0 in IEEE arithmetic), as torch.nonzero has it.
template <class T>
DLCORE_HOST_DEVICE inline bool is_nonzero(T v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v;
  } else {
    return static_cast<opmath_t<T>>(v) != static_cast<opmath_t<T>>(0);
  }
}

// `current` combined with `value` by Mode. Integers wrap around (computed unsigned, so signed
// overflow is defined), bool adds as a logical or and multiplies as a logical and, and 16-bit
// floats compute in float and round once.
template <ScatterMode Mode, class T>
DLCORE_HOST_DEVICE inline T scatter_combine(T current, T value) {
  if constexpr (Mode == ScatterMode::Assign) {
    (void)current;
    return value;
  } else if constexpr (std::is_same_v<T, bool>) {
    return Mode == ScatterMode::Add ? (current || value) : (current && value);
  } else if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    // uint8 would promote to (signed) int before the arithmetic; unsigned int keeps it unsigned.
    using W = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, U>;
    const W a = static_cast<W>(static_cast<U>(current)), b = static_cast<W>(static_cast<U>(value));
    return static_cast<T>(static_cast<U>(Mode == ScatterMode::Add ? a + b : a * b));
  } else {
    using C = opmath_t<T>;
    const C a = static_cast<C>(current), b = static_cast<C>(value);
    return static_cast<T>(Mode == ScatterMode::Add ? a + b : a * b);
  }
}

}  // namespace dlcore::functors
