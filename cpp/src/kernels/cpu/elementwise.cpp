// Layout kernels of the CPU backend: fills, scale_shift, the broadcast-gradient reduction sum_to and
// strided copies between views (contiguous(), copy_ into a view, broadcast sources). Shapes are
// first coalesced so the innermost loop is long and usually unit-stride. (The op table's pointwise
// ops have their own loop: pointwise.cpp.)
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "cpu_parallel.h"
#include "strided_runs.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cpu {
namespace {

using detail::kParallelGrain;
using detail::parallel_for;

// A broadcast shape with size-1 dimensions dropped and mergeable neighbours merged.
struct Iteration {
  int ndim = 0;
  int64_t sizes[kMaxDims];
  int64_t a_strides[kMaxDims];
  int64_t b_strides[kMaxDims];
};

Iteration coalesce(const BroadcastShape& s) {
  Iteration it;
  for (int d = 0; d < s.ndim; ++d) {
    if (s.sizes[d] == 1) continue;
    if (it.ndim > 0) {
      const int last = it.ndim - 1;
      // Dimension d continues the previous one in memory for both operands: merge them.
      if (it.a_strides[last] == s.a_strides[d] * s.sizes[d] &&
          it.b_strides[last] == s.b_strides[d] * s.sizes[d]) {
        it.sizes[last] *= s.sizes[d];
        it.a_strides[last] = s.a_strides[d];
        it.b_strides[last] = s.b_strides[d];
        continue;
      }
    }
    it.sizes[it.ndim] = s.sizes[d];
    it.a_strides[it.ndim] = s.a_strides[d];
    it.b_strides[it.ndim] = s.b_strides[d];
    ++it.ndim;
  }
  if (it.ndim == 0) {  // a single element
    it.ndim = 1;
    it.sizes[0] = 1;
    it.a_strides[0] = it.b_strides[0] = 0;
  }
  return it;
}

// Visits the linear range [begin, end) of the iteration as runs along the innermost dimension:
// run(a_offset, b_offset, linear_start, length).
template <class Run>
void for_each_run(const Iteration& it, int64_t begin, int64_t end, Run&& run) {
  const int64_t* strides[2] = {it.a_strides, it.b_strides};
  detail::for_each_run(it.ndim, it.sizes, 2, strides, begin, end,
                       [&](const int64_t* off, int64_t linear, int64_t n) { run(off[0], off[1], linear, n); });
}

// One run of a strided copy: n elements from src (stride sx, 0 for a broadcast value) to dst
// (stride sy). The contiguous and broadcast cases get their own loops so they become memcpy / fills.
template <class T>
void strided_copy_run(const T* src, int64_t sx, T* dst, int64_t sy, int64_t n) {
  if (sx == 1 && sy == 1) {
    std::memcpy(dst, src, n * sizeof(T));
  } else if (sx == 0) {
    const T value = *src;
    for (int64_t i = 0; i < n; ++i) dst[i * sy] = value;
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i * sy] = src[i * sx];
  }
}

template <class T>
void strided_copy_typed(const T* x, T* y, const Iteration& it, int64_t numel) {
  const int inner = it.ndim - 1;
  const int64_t x_stride = it.a_strides[inner], y_stride = it.b_strides[inner];
  parallel_for(numel, kParallelGrain, [&](int64_t begin, int64_t end) {
    for_each_run(it, begin, end, [&](int64_t x_off, int64_t y_off, int64_t, int64_t n) {
      strided_copy_run(x + x_off, x_stride, y + y_off, y_stride, n);
    });
  });
}

}  // namespace

void fill(float* y, float value, int64_t n) {
  parallel_for(n, kParallelGrain * 4, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) y[i] = value;
  });
}

void scale_shift(float* y, const float* x, float scale, float shift, int64_t n) {
  parallel_for(n, kParallelGrain, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) y[i] = x[i] * scale + shift;
  });
}

namespace {

// The output's strides are s.a_strides (0 on summed dimensions); s.b_strides is not read. x is
// contiguous, so its strides are implied by s.sizes. Runs on one thread: every x element may
// land on the same y element, and the gradients it reduces are small next to the GEMMs. Sums
// along the innermost dimension accumulate in double.
template <class T>
void sum_to_typed(const T* x, T* y, const BroadcastShape& s) {
  BroadcastShape shape = s;
  int64_t y_numel = 1;
  for (int d = 0; d < s.ndim; ++d)
    if (s.a_strides[d] != 0) y_numel *= s.sizes[d];
  // Present x's contiguous strides as the b operand so coalescing merges dimensions correctly.
  int64_t stride = 1;
  for (int d = s.ndim - 1; d >= 0; --d) {
    shape.b_strides[d] = stride;
    stride *= s.sizes[d];
  }
  std::fill(y, y + y_numel, T(0.0f));
  const Iteration it = coalesce(shape);
  const int inner = it.ndim - 1;
  const int64_t y_stride = it.a_strides[inner];
  for_each_run(it, 0, s.numel(), [&](int64_t y_off, int64_t x_off, int64_t, int64_t n) {
    const T* src = x + x_off;
    T* dst = y + y_off;
    if (y_stride == 0) {
      double total = 0.0;
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
#pragma omp simd reduction(+ : total)
        for (int64_t i = 0; i < n; ++i) total += src[i];
      } else {
        for (int64_t i = 0; i < n; ++i) total += static_cast<float>(src[i]);
      }
      *dst = static_cast<T>(static_cast<opmath_t<T>>(static_cast<opmath_t<T>>(*dst) + total));
    } else {
      for (int64_t i = 0; i < n; ++i)
        dst[i * y_stride] = static_cast<T>(static_cast<opmath_t<T>>(dst[i * y_stride]) + static_cast<opmath_t<T>>(src[i]));
    }
  });
}

}  // namespace

void sum_to(DType dtype, const void* x, void* y, const BroadcastShape& s) {
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_integral_v<T>) {
      throw std::logic_error("sum_to: floating-point gradients only, got " + dtype_name(dtype));
    } else {
      sum_to_typed(static_cast<const T*>(x), static_cast<T*>(y), s);
    }
  });
}

void strided_copy(const void* x, void* y, const BroadcastShape& s, int64_t elem_size) {
  const int64_t numel = s.numel();
  if (numel == 0) return;
  const Iteration it = coalesce(s);
  switch (elem_size) {
    case 1:
      return strided_copy_typed(static_cast<const uint8_t*>(x), static_cast<uint8_t*>(y), it,
                                numel);
    case 2:
      return strided_copy_typed(static_cast<const uint16_t*>(x), static_cast<uint16_t*>(y), it,
                                numel);
    case 4:
      return strided_copy_typed(static_cast<const uint32_t*>(x), static_cast<uint32_t*>(y), it,
                                numel);
    case 8:
      return strided_copy_typed(static_cast<const uint64_t*>(x), static_cast<uint64_t*>(y), it,
                                numel);
    default:
      break;
  }
  const auto* src = static_cast<const char*>(x);
  auto* dst = static_cast<char*>(y);
  const int inner = it.ndim - 1;
  for_each_run(it, 0, numel, [&](int64_t x_off, int64_t y_off, int64_t, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
      std::memcpy(dst + (y_off + i * it.b_strides[inner]) * elem_size,
                  src + (x_off + i * it.a_strides[inner]) * elem_size, elem_size);
  });
}

}  // namespace dlcore::kernels::cpu
