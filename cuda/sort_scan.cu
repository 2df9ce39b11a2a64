// CUDA sorting and scan kernels of kernel_list.inc, checked against the CPU ones
// (kernels/cpu/sort_scan.cpp); the element math both share is kernels/sort_functors.h.
// - sort_rows: a stable merge sort of (value, index) pairs over every row at once. Pass p merges
//   adjacent runs of width w = 2^p; each element finds its output place as its rank in its own run
//   plus the number of the partner run's elements that go before it, by binary search (strictly
//   before for an element of the left run, before or equal for the right run's, which keeps equal
//   values in index order). Every element is its own thread, so it is parallel for one long row as
//   for many short ones: ceil(log2 n) launches of O(n log w) work. A first pass that sorts tiles in
//   shared memory would save the short passes; not done yet.
// - topk_rows sorts whole rows and keeps the first k: the same ties as the CPU's partial sort.
// - scan_rows: one block per row scans tiles of kThreads in shared memory and carries the running
//   total from tile to tile; rows shorter than kThreadRowLimit are a thread's work each.
// - cumprod_backward_rows: a thread per row runs the CPU's zero-aware sequential formula.
#include "block_reduce.cuh"
#include "cuda_check.h"
#include "dlcore/kernels.h"
#include "kernels/sort_functors.h"

namespace dlcore::kernels::cuda {
namespace {

using ::dlcore::cuda::grid_stride_begin;
using ::dlcore::cuda::grid_stride_blocks;
using ::dlcore::cuda::grid_stride_step;
using ::dlcore::cuda::stream;
using ::dlcore::cuda::Workspace;
using functors::scan_acc_t;
using functors::scan_out_t;
using functors::sorts_before;

constexpr int kThreads = 256;
constexpr int64_t kThreadRowLimit = 64;  // scan rows shorter than this run one per thread

__global__ void iota_rows_kernel(int64_t* indices, int64_t total, int64_t n) {
  for (int64_t i = grid_stride_begin(); i < total; i += grid_stride_step()) indices[i] = i % n;
}

// One merge pass: runs [left, mid) and [mid, right) of width `width` become one sorted run.
template <class T>
__global__ void merge_pass_kernel(const T* keys_in, const int64_t* idx_in, T* keys_out, int64_t* idx_out,
                                  int64_t total, int64_t n, int64_t width, SortOrder order) {
  for (int64_t i = grid_stride_begin(); i < total; i += grid_stride_step()) {
    const int64_t row_start = i - i % n, p = i % n;
    const T* row = keys_in + row_start;
    const int64_t left = p - p % (2 * width);
    const int64_t mid = left + width < n ? left + width : n;
    const int64_t right = left + 2 * width < n ? left + 2 * width : n;
    const T key = row[p];
    int64_t lo, hi, place;
    if (p < mid) {  // partner: the right run; count its elements strictly before key
      lo = mid;
      hi = right;
      while (lo < hi) {
        const int64_t m = lo + (hi - lo) / 2;
        if (sorts_before(row[m], key, order)) lo = m + 1;
        else hi = m;
      }
      place = left + (p - left) + (lo - mid);
    } else {  // partner: the left run; count its elements not after key
      lo = left;
      hi = mid;
      while (lo < hi) {
        const int64_t m = lo + (hi - lo) / 2;
        if (!sorts_before(key, row[m], order)) lo = m + 1;
        else hi = m;
      }
      place = left + (p - mid) + (lo - left);
    }
    keys_out[row_start + place] = key;
    idx_out[row_start + place] = idx_in[i];
  }
}

// The permutation that sorts each row, into `indices` ([rows, n]).
template <class T>
void sort_rows_typed(const T* x, int64_t rows, int64_t n, SortOrder order, int64_t* indices) {
  const int64_t total = rows * n;
  const unsigned int blocks = grid_stride_blocks(total, kThreads);
  int passes = 0;
  while ((int64_t{1} << passes) < n) ++passes;
  // Buffers alternate pass to pass; the permutation starts where an even number of passes ends in
  // `indices`. The keys start as x itself (read only) and then alternate between two scratch rows.
  Workspace workspace(static_cast<size_t>(total) * (sizeof(int64_t) + (passes > 1 ? 2 : 1) * sizeof(T)));
  int64_t* idx_scratch = workspace.as<int64_t>();
  T* keys_a = reinterpret_cast<T*>(idx_scratch + total);
  T* keys_b = keys_a + (passes > 1 ? total : 0);
  int64_t* idx_in = passes % 2 == 0 ? indices : idx_scratch;
  int64_t* idx_out = passes % 2 == 0 ? idx_scratch : indices;
  iota_rows_kernel<<<blocks, kThreads, 0, stream()>>>(idx_in, total, n);
  DLCORE_CUDA_CHECK_LAUNCH("sort (indices)");
  const T* keys_in = x;
  T* keys_out = keys_a;
  for (int64_t width = 1; width < n; width *= 2) {
    merge_pass_kernel<T><<<blocks, kThreads, 0, stream()>>>(keys_in, idx_in, keys_out, idx_out, total, n, width,
                                                            order);
    DLCORE_CUDA_CHECK_LAUNCH("sort (merge pass)");
    std::swap(idx_in, idx_out);
    keys_in = keys_out;
    keys_out = keys_out == keys_a ? keys_b : keys_a;
  }
}

__global__ void first_columns_kernel(const int64_t* full, int64_t* out, int64_t total, int64_t n, int64_t k) {
  for (int64_t i = grid_stride_begin(); i < total; i += grid_stride_step()) out[i] = full[(i / k) * n + i % k];
}

struct ScanCombine {
  ScanOp op;
  template <class Acc>
  __device__ Acc operator()(Acc a, Acc b) const { return functors::scan_combine(op, a, b); }
};

template <class T>
__global__ void scan_rows_block_kernel(ScanOp op, const T* x, scan_out_t<T>* y, int64_t rows, int64_t n) {
  using Acc = scan_acc_t<T>;
  __shared__ Acc buffer[2 * kThreads];
  __shared__ Acc tile_total;
  const ScanCombine combine{op};
  const Acc identity = functors::scan_identity<Acc>(op);
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {  // the same trip counts in every thread
    const T* in = x + r * n;
    scan_out_t<T>* out = y + r * n;
    Acc carry = identity;
    for (int64_t tile = 0; tile < n; tile += kThreads) {
      const int64_t i = tile + threadIdx.x;
      const Acc value = i < n ? static_cast<Acc>(static_cast<opmath_t<T>>(in[i])) : identity;
      const Acc inclusive = ::dlcore::cuda::block_inclusive_scan<kThreads>(value, combine, buffer);
      if (i < n) out[i] = static_cast<scan_out_t<T>>(combine(carry, inclusive));
      if (threadIdx.x == kThreads - 1) tile_total = inclusive;
      __syncthreads();
      carry = combine(carry, tile_total);
      __syncthreads();  // everyone has read tile_total before the next tile writes it
    }
  }
}

template <class T>
__global__ void scan_rows_thread_kernel(ScanOp op, const T* x, scan_out_t<T>* y, int64_t rows, int64_t n) {
  for (int64_t r = grid_stride_begin(); r < rows; r += grid_stride_step())
    functors::scan_row(op, x + r * n, y + r * n, n);
}

template <class T>
__global__ void cumprod_backward_kernel(const T* x, const T* y, const T* g, T* gx, int64_t rows, int64_t n) {
  for (int64_t r = grid_stride_begin(); r < rows; r += grid_stride_step())
    functors::cumprod_backward_row(x + r * n, y + r * n, g + r * n, gx + r * n, n);
}

unsigned int row_grid(int64_t rows) {
  const int64_t cap = static_cast<int64_t>(::dlcore::cuda::multiprocessor_count()) * 16;
  return static_cast<unsigned int>(std::max<int64_t>(1, std::min(rows, cap)));
}

}  // namespace

void sort_rows(DType dtype, const void* x, int64_t rows, int64_t n, SortOrder order, int64_t* indices) {
  if (rows == 0 || n == 0) return;
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    sort_rows_typed(static_cast<const T*>(x), rows, n, order, indices);
  });
}

void topk_rows(DType dtype, const void* x, int64_t rows, int64_t n, int64_t k, SortOrder order, int64_t* indices) {
  if (rows == 0 || k == 0) return;
  Workspace full(static_cast<size_t>(rows * n) * sizeof(int64_t));
  sort_rows(dtype, x, rows, n, order, full.as<int64_t>());
  const int64_t total = rows * k;
  first_columns_kernel<<<grid_stride_blocks(total, kThreads), kThreads, 0, stream()>>>(full.as<int64_t>(), indices,
                                                                                      total, n, k);
  DLCORE_CUDA_CHECK_LAUNCH("topk");
}

void scan_rows(ScanOp op, DType dtype, const void* x, void* y, int64_t rows, int64_t n) {
  if (rows == 0 || n == 0) return;
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* in = static_cast<const T*>(x);
    auto* out = static_cast<scan_out_t<T>*>(y);
    if (n < kThreadRowLimit) {
      const unsigned int blocks = grid_stride_blocks(rows, kThreads);
      scan_rows_thread_kernel<T><<<blocks, kThreads, 0, stream()>>>(op, in, out, rows, n);
    } else {
      scan_rows_block_kernel<T><<<row_grid(rows), kThreads, 0, stream()>>>(op, in, out, rows, n);
    }
  });
  DLCORE_CUDA_CHECK_LAUNCH(op == ScanOp::Sum ? "cumsum" : "cumprod");
}

void cumprod_backward_rows(DType dtype, const void* x, const void* y, const void* g, void* gx, int64_t rows,
                           int64_t n) {
  if (rows == 0 || n == 0) return;
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_floating_point_v<opmath_t<T>>) {
      cumprod_backward_kernel<T><<<grid_stride_blocks(rows, kThreads), kThreads, 0, stream()>>>(
          static_cast<const T*>(x), static_cast<const T*>(y), static_cast<const T*>(g), static_cast<T*>(gx), rows, n);
    }
  });
  DLCORE_CUDA_CHECK_LAUNCH("cumprod (backward)");
}

}  // namespace dlcore::kernels::cuda
