// PyTorch's advanced indexing and the ops built on it: x[key] and x[key] = value with any mix of ints,
// slices, None, ..., bools, integer index tensors and bool masks (torch's placement and broadcasting
// rules), index_put(_), the masked ops, nonzero, gather/scatter and the index_* family, take and
// take_along_dim. Each lowers to one gather or scatter kernel over int64 element offsets
// (kernel_list.inc); autograd flows through all of them. Implementations: cpp/src/ops/
// advanced_indexing.cpp (subscripts, masks, nonzero) and cpp/src/ops/dim_indexing.cpp (ops along a dim).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "dlcore/tensor.h"

namespace dlcore {

// One element of a Python subscript x[a, b, ...], as the bindings parse it.
struct IndexItem {
  enum class Kind : int8_t { Int, Slice, None, Ellipsis, Bool, Tensor };
  Kind kind = Kind::None;
  int64_t start = 0, stop = 0, step = 1;  // Int: the index (start); Slice: Python's unpacked slice
  bool flag = false;                      // Bool: x[True] / x[False]
  Tensor tensor;                          // Tensor: an integer index or a bool (or uint8) mask, any device

  static IndexItem integer(int64_t i) { IndexItem it; it.kind = Kind::Int; it.start = i; return it; }
  static IndexItem slice(int64_t start, int64_t stop, int64_t step) {
    IndexItem it;
    it.kind = Kind::Slice;
    it.start = start;
    it.stop = stop;
    it.step = step;
    return it;
  }
  static IndexItem none() { return IndexItem{}; }
  static IndexItem ellipsis() { IndexItem it; it.kind = Kind::Ellipsis; return it; }
  static IndexItem boolean(bool b) { IndexItem it; it.kind = Kind::Bool; it.flag = b; return it; }
  static IndexItem index(const Tensor& t) { IndexItem it; it.kind = Kind::Tensor; it.tensor = t; return it; }
};

namespace ops {

// ---- subscripts ----
// x[key]: ints, slices and None give views; integer tensors (int64 or int32; negative positions
// count from the end) and masks (bool, or uint8 as torch still accepts) copy. The advanced indices
// broadcast together; a mask of k dims stands for its k nonzero() columns. Their broadcast shape
// replaces them where they are adjacent, and goes first otherwise. Index tensors on the CPU may
// index a tensor on any device.
Tensor index(const Tensor& x, const std::vector<IndexItem>& key);
// x[key] = values, in place: values (converted to x's dtype) broadcast to x[key]'s shape, written in
// one scatter (accumulate: added, repeated positions summing up). Recorded by autograd when x or
// values require grad; leaves that require grad are refused, as in torch.
void index_put_(const Tensor& x, const std::vector<IndexItem>& key, const Tensor& values, bool accumulate = false);
// torch.Tensor.index_put_ / torch.index_put: indices index x's leading dims; values must have x's dtype.
Tensor index_put_(const Tensor& x, const std::vector<Tensor>& indices, const Tensor& values, bool accumulate = false);
Tensor index_put(const Tensor& x, const std::vector<Tensor>& indices, const Tensor& values, bool accumulate = false);
// Advanced indexing by one integer index tensor at dim: x[:, ..., index] (index of any shape).
Tensor index(const Tensor& x, int64_t dim, const Tensor& index);

// ---- masks ----
// value: a 0-d tensor or a wrapped number, converted to x's dtype; mask: bool, broadcast with x
// (masked_fill_: to x's shape).
Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value);
Tensor masked_fill_(const Tensor& x, const Tensor& mask, const Tensor& value);
Tensor masked_select(const Tensor& x, const Tensor& mask);  // 1-D, x and mask broadcast together
// The positions where mask (broadcast to x's shape) is true take source's first elements in order.
Tensor masked_scatter(const Tensor& x, const Tensor& mask, const Tensor& source);
Tensor masked_scatter_(const Tensor& x, const Tensor& mask, const Tensor& source);
Tensor nonzero(const Tensor& x);                      // int64 [count, x.dim()], row-major order
std::vector<Tensor> nonzero_tuple(const Tensor& x);   // one 1-D tensor per dim (a 0-d x counts as 1-D)

// ---- along a dimension ----
// index: int64/int32, 0-D or 1-D, positions in [0, x.size(dim)).
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// x with x.select(dim, index[i]) += alpha * source.select(dim, i) (index_add), = source... (index_copy),
// = value (index_fill, negative positions allowed as in torch). The _ forms write x in place.
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, double alpha = 1);
Tensor index_add_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, double alpha = 1);
Tensor index_copy(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source);
Tensor index_copy_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source);
Tensor index_fill(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& value);
Tensor index_fill_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& value);
// torch.gather: out[i][j][k] = x[i][index[i][j][k]][k] (dim = 1); index has x's number of dims and
// sizes no larger than x's apart from dim.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// torch.scatter: x[i][index[i][j][k]][k] = src[i][j][k] (dim = 1); reduce: "" (assign), "add" or
// "multiply". src may be a 0-d tensor or a wrapped number (torch's value= form).
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, const std::string& reduce = "");
Tensor scatter_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, const std::string& reduce = "");
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
Tensor scatter_add_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
// torch.take: x read as if flattened (row-major) at int64 positions; out has index's shape.
Tensor take(const Tensor& x, const Tensor& index);
// torch.take_along_dim: gather along dim after broadcasting x and indices on the other dims;
// without dim, take(x.flatten(), indices.flatten()). Negative positions count from the end.
Tensor take_along_dim(const Tensor& x, const Tensor& indices, std::optional<int64_t> dim = std::nullopt);

}  // namespace ops
}  // namespace dlcore
