// The element math of the sorting and scan kernels, written once for the CPU and CUDA backends:
// torch's order (NaN above every number; two NaNs equal), the types a scan accumulates in and
// writes (floats accumulate in double and round each output once; bool and integers in int64), and
// the sequential row loops both backends run where a row is one thread's work.
#pragma once
#include <type_traits>

#include "dlcore/kernels.h"

namespace dlcore::functors {

template <class T>
DLCORE_HOST_DEVICE inline bool is_nan_value(T v) {
  if constexpr (std::is_floating_point_v<opmath_t<T>>) {
    const opmath_t<T> w = static_cast<opmath_t<T>>(v);
    return w != w;
  } else {
    (void)v;
    return false;
  }
}

// a < b with NaN as the largest value.
template <class T>
DLCORE_HOST_DEVICE inline bool value_less(T a, T b) {
  const bool nan_a = is_nan_value(a), nan_b = is_nan_value(b);
  if (nan_a || nan_b) return !nan_a && nan_b;
  return static_cast<opmath_t<T>>(a) < static_cast<opmath_t<T>>(b);
}

// Whether a comes strictly before b in `order` (ascending: NaN last; descending: NaN first). Equal
// values come in neither order, so a stable sort keeps them in index order.
template <class T>
DLCORE_HOST_DEVICE inline bool sorts_before(T a, T b, SortOrder order) {
  return order == SortOrder::Ascending ? value_less(a, b) : value_less(b, a);
}

template <class T>
using scan_acc_t = std::conditional_t<std::is_floating_point_v<opmath_t<T>>, double, int64_t>;
template <class T>
using scan_out_t = std::conditional_t<std::is_floating_point_v<opmath_t<T>>, T, int64_t>;

template <class Acc>
DLCORE_HOST_DEVICE inline Acc scan_identity(ScanOp op) {
  return op == ScanOp::Sum ? Acc(0) : Acc(1);
}
template <class Acc>
DLCORE_HOST_DEVICE inline Acc scan_combine(ScanOp op, Acc a, Acc b) {
  return op == ScanOp::Sum ? a + b : a * b;
}

// y[i] = x[0] (+ or *) ... x[i] along one row, accumulated left to right.
template <class T>
DLCORE_HOST_DEVICE inline void scan_row(ScanOp op, const T* x, scan_out_t<T>* y, int64_t n) {
  using Acc = scan_acc_t<T>;
  Acc acc = scan_identity<Acc>(op);
  for (int64_t i = 0; i < n; ++i) {
    acc = scan_combine(op, acc, static_cast<Acc>(static_cast<opmath_t<T>>(x[i])));
    y[i] = static_cast<scan_out_t<T>>(acc);
  }
}

template <class T>
DLCORE_HOST_DEVICE inline double as_double(T v) {
  return static_cast<double>(static_cast<opmath_t<T>>(v));
}

// cumprod's gradient along one row of a floating-point dtype, exact with zeros. With z the first zero
// of x: for i < z, gx_i = sum_{i<=j<z} g_j y_j / x_i (the terms from z on vanish); gx_z = sum_{j>=z}
// g_j * prod_{k<=j, k!=z} x_k, accumulated forwards from y_{z-1}; every gx_i with i > z is 0, since
// each product it touches holds x_z = 0 as well.
template <class T>
DLCORE_HOST_DEVICE inline void cumprod_backward_row(const T* x, const T* y, const T* g, T* gx, int64_t n) {
  int64_t z = 0;
  while (z < n && as_double(x[z]) != 0.0) ++z;
  double suffix = 0.0;
  for (int64_t i = z - 1; i >= 0; --i) {
    suffix += as_double(g[i]) * as_double(y[i]);
    gx[i] = static_cast<T>(suffix / as_double(x[i]));
  }
  if (z == n) return;
  double running = z == 0 ? 1.0 : as_double(y[z - 1]);
  double total = as_double(g[z]) * running;
  for (int64_t j = z + 1; j < n; ++j) {
    running *= as_double(x[j]);
    total += as_double(g[j]) * running;
  }
  gx[z] = static_cast<T>(total);
  for (int64_t i = z + 1; i < n; ++i) gx[i] = static_cast<T>(0.0);
}

}  // namespace dlcore::functors
