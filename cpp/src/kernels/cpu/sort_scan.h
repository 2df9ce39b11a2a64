// CPU-only kernels of the sorting and scan ops (sort, argsort, topk, unique, cumsum, cumprod).
// They work on `rows` contiguous rows of length n (the op layer moves the dimension innermost), in
// any dtype; there is no CUDA version yet, so the ops refuse CUDA tensors instead of dispatching.
#pragma once
#include <cstdint>

#include "dlcore/dtype.h"

namespace dlcore::kernels::cpu {

enum class SortOrder { Ascending, Descending };
enum class ScanOp { Sum, Product };

// indices[r, :] = the stable permutation that sorts row r of x; NaN sorts above every number
// (last ascending, first descending), as in torch.
void sort_rows(DType dtype, const void* x, int64_t rows, int64_t n, SortOrder order, int64_t* indices);
// indices[r, :k] = the first k entries of sort_rows' permutation of row r (ties in index order),
// found by a partial sort: O(n log k) per row.
void topk_rows(DType dtype, const void* x, int64_t rows, int64_t n, int64_t k, SortOrder order, int64_t* indices);
// y[r, i] = x[r, 0] (+ or *) ... x[r, i]. Floats accumulate in double and round each output once;
// integers and bool accumulate in int64 (y is int64 for them, `dtype` for floats).
void scan_rows(ScanOp op, DType dtype, const void* x, void* y, int64_t rows, int64_t n);
// The exact gradient of cumprod for a floating-point dtype, zeros included: gx = d(sum g*y)/dx for
// y = cumprod(x) along each row (y is the forward result).
void cumprod_backward_rows(DType dtype, const void* x, const void* y, const void* g, void* gx, int64_t rows,
                           int64_t n);

}  // namespace dlcore::kernels::cpu
