// The CPU sorting and scan kernels declared in sort_scan.h: a stable index sort (and a partial
// one for topk) per row with torch's NaN placement, running sums/products accumulated in double or int64, and the zero-aware
// cumprod gradient. Rows are independent, so threads split them.
#include "sort_scan.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>
#include <vector>

#include "cpu_parallel.h"
#include "dlcore/scalar_types.h"

namespace dlcore::kernels::cpu {
namespace {

// The value a comparison or accumulation sees: 16-bit floats widen to float, the rest as they are.
template <class T>
auto widen(T v) {
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) return static_cast<float>(v);
  else return v;
}

template <class T>
bool is_nan_value(T v) {
  if constexpr (std::is_floating_point_v<decltype(widen(v))>) return std::isnan(widen(v));
  else return false;
}

// row[a] < row[b] with NaN as the largest value (two NaNs are equal).
template <class T>
bool value_less(const T* row, int64_t a, int64_t b) {
  const bool nan_a = is_nan_value(row[a]), nan_b = is_nan_value(row[b]);
  if (nan_a || nan_b) return !nan_a && nan_b;
  return widen(row[a]) < widen(row[b]);
}

template <class T>
void topk_rows_typed(const T* x, int64_t rows, int64_t n, int64_t k, SortOrder order, int64_t* indices) {
  detail::parallel_for(rows, detail::grain_for(n), [&](int64_t begin, int64_t end) {
    std::vector<int64_t> idx(static_cast<size_t>(n));
    for (int64_t r = begin; r < end; ++r) {
      const T* row = x + r * n;
      std::iota(idx.begin(), idx.end(), int64_t{0});
      // Equal values keep index order, so the result is exactly the stable sort's first k.
      auto before = [&](int64_t a, int64_t b) {
        const bool first = order == SortOrder::Ascending ? value_less(row, a, b) : value_less(row, b, a);
        const bool second = order == SortOrder::Ascending ? value_less(row, b, a) : value_less(row, a, b);
        return first || (!second && a < b);
      };
      std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), before);
      std::copy(idx.begin(), idx.begin() + k, indices + r * k);
    }
  });
}

template <class T>
void sort_rows_typed(const T* x, int64_t rows, int64_t n, SortOrder order, int64_t* indices) {
  detail::parallel_for(rows, detail::grain_for(n),
                       [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* row = x + r * n;
      int64_t* idx = indices + r * n;
      std::iota(idx, idx + n, int64_t{0});
      // NaN is the largest value: ascending puts it last, descending first; ties keep their order.
      auto less = [row](int64_t a, int64_t b) { return value_less(row, a, b); };
      if (order == SortOrder::Ascending) std::stable_sort(idx, idx + n, less);
      else std::stable_sort(idx, idx + n, [&](int64_t a, int64_t b) { return less(b, a); });
    }
  });
}

template <class T>
void scan_rows_typed(ScanOp op, const T* x, void* y_raw, int64_t rows, int64_t n) {
  constexpr bool floating = std::is_floating_point_v<decltype(widen(T{}))>;
  using Acc = std::conditional_t<floating, double, int64_t>;
  using Out = std::conditional_t<floating, T, int64_t>;
  Out* y = static_cast<Out*>(y_raw);
  detail::parallel_for(rows, detail::grain_for(n),
                       [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      Acc acc = op == ScanOp::Sum ? Acc(0) : Acc(1);
      for (int64_t i = 0; i < n; ++i) {
        const Acc v = static_cast<Acc>(widen(x[r * n + i]));
        acc = op == ScanOp::Sum ? acc + v : acc * v;
        y[r * n + i] = static_cast<Out>(acc);
      }
    }
  });
}

// Per row, with z the first zero of x: for i < z, gx_i = sum_{i<=j<z} g_j y_j / x_i (the terms from
// z on vanish); gx_z = sum_{j>=z} g_j * prod_{k<=j, k!=z} x_k, accumulated forwards from y_{z-1};
// every gx_i with i > z is 0, since each product it touches holds x_z = 0 as well.
template <class T>
void cumprod_backward_typed(const T* x, const T* y, const T* g, T* gx, int64_t rows, int64_t n) {
  detail::parallel_for(rows, detail::grain_for(n),
                       [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T *xr = x + r * n, *yr = y + r * n, *gr = g + r * n;
      T* out = gx + r * n;
      int64_t z = 0;
      while (z < n && static_cast<double>(widen(xr[z])) != 0.0) ++z;
      double suffix = 0.0;
      for (int64_t i = z - 1; i >= 0; --i) {
        suffix += static_cast<double>(widen(gr[i])) * static_cast<double>(widen(yr[i]));
        out[i] = static_cast<T>(suffix / static_cast<double>(widen(xr[i])));
      }
      if (z == n) continue;
      double running = z == 0 ? 1.0 : static_cast<double>(widen(yr[z - 1]));
      double total = static_cast<double>(widen(gr[z])) * running;
      for (int64_t j = z + 1; j < n; ++j) {
        running *= static_cast<double>(widen(xr[j]));
        total += static_cast<double>(widen(gr[j])) * running;
      }
      out[z] = static_cast<T>(total);
      for (int64_t i = z + 1; i < n; ++i) out[i] = static_cast<T>(0.0);
    }
  });
}

}  // namespace

void sort_rows(DType dtype, const void* x, int64_t rows, int64_t n, SortOrder order, int64_t* indices) {
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    sort_rows_typed(static_cast<const T*>(x), rows, n, order, indices);
  });
}

void topk_rows(DType dtype, const void* x, int64_t rows, int64_t n, int64_t k, SortOrder order, int64_t* indices) {
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    topk_rows_typed(static_cast<const T*>(x), rows, n, k, order, indices);
  });
}

void scan_rows(ScanOp op, DType dtype, const void* x, void* y, int64_t rows, int64_t n) {
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    scan_rows_typed(op, static_cast<const T*>(x), y, rows, n);
  });
}

void cumprod_backward_rows(DType dtype, const void* x, const void* y, const void* g, void* gx, int64_t rows,
                           int64_t n) {
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_floating_point_v<decltype(widen(T{}))>)
      cumprod_backward_typed(static_cast<const T*>(x), static_cast<const T*>(y), static_cast<const T*>(g),
                             static_cast<T*>(gx), rows, n);
  });
}

}  // namespace dlcore::kernels::cpu
