// The CPU sorting and scan kernels of kernel_list.inc: a stable index sort (and a partial one for
// topk) per row in torch's order, running sums/products accumulated in double or int64, and the
// zero-aware cumprod gradient. Rows are independent, so threads split them. The CUDA versions
// (cuda/sort_scan.cu) are checked against these; the element math is kernels/sort_functors.h.
#include <algorithm>
#include <numeric>
#include <type_traits>
#include <vector>

#include "cpu_parallel.h"
#include "dlcore/kernels.h"
#include "../sort_functors.h"

namespace dlcore::kernels::cpu {
namespace {

using functors::scan_out_t;
using functors::sorts_before;

template <class T>
void topk_rows_typed(const T* x, int64_t rows, int64_t n, int64_t k, SortOrder order, int64_t* indices) {
  detail::parallel_for(rows, detail::grain_for(n), [&](int64_t begin, int64_t end) {
    std::vector<int64_t> idx(static_cast<size_t>(n));
    for (int64_t r = begin; r < end; ++r) {
      const T* row = x + r * n;
      std::iota(idx.begin(), idx.end(), int64_t{0});
      // Equal values keep index order, so the result is exactly the stable sort's first k.
      auto before = [&](int64_t a, int64_t b) {
        return sorts_before(row[a], row[b], order) || (!sorts_before(row[b], row[a], order) && a < b);
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
      std::stable_sort(idx, idx + n, [&](int64_t a, int64_t b) { return sorts_before(row[a], row[b], order); });
    }
  });
}

template <class T>
void scan_rows_typed(ScanOp op, const T* x, void* y_raw, int64_t rows, int64_t n) {
  auto* y = static_cast<scan_out_t<T>*>(y_raw);
  detail::parallel_for(rows, detail::grain_for(n), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) functors::scan_row(op, x + r * n, y + r * n, n);
  });
}

template <class T>
void cumprod_backward_typed(const T* x, const T* y, const T* g, T* gx, int64_t rows, int64_t n) {
  detail::parallel_for(rows, detail::grain_for(n), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      functors::cumprod_backward_row(x + r * n, y + r * n, g + r * n, gx + r * n, n);
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
    if constexpr (std::is_floating_point_v<opmath_t<T>>)
      cumprod_backward_typed(static_cast<const T*>(x), static_cast<const T*>(y), static_cast<const T*>(g),
                             static_cast<T*>(gx), rows, n);
  });
}

}  // namespace dlcore::kernels::cpu
