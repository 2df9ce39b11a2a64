// Strided views (permute, transpose, select, slice, expand, view, ...) that share their base's
// storage and version counter, and the copying ops that assemble tensors (cat, stack). Names and
// semantics are PyTorch's; autograd flows through every one of them. Implementations:
// cpp/src/ops/view.cpp (views) and cpp/src/ops/indexing.cpp (copies); gathers by index tensors
// are in index_ops.h.
#pragma once
#include <optional>
#include <stdexcept>
#include <vector>

#include "dlcore/tensor.h"

namespace dlcore {

// A dimension or an element index out of range (Python IndexError, as torch raises it).
struct IndexError : std::out_of_range {
  using std::out_of_range::out_of_range;
};

// Sizes that do not fit together (view of an incompatible shape, cat of mismatched tensors, expand
// of a non-singleton dimension, ...). dlcore reports bad shapes as ValueError and torch as
// RuntimeError; Python sees this as a subclass of both, so code written for either catches it.
struct ShapeError : ValueError {
  using ValueError::ValueError;
};

// torch's computeStride: the strides that let a tensor of `sizes`/`strides` be viewed as `new_sizes`
// without copying, or nullopt when some new dimension would span two non-contiguous chunks.
std::optional<Shape> view_strides(const Shape& sizes, const Shape& strides, const Shape& new_sizes);
// `requested` with its one -1 replaced so the shape holds as many elements as input_shape; ShapeError
// otherwise.
Shape infer_view_shape(const Shape& requested, const Shape& input_shape, const char* op);

namespace ops {

// ---- views: the result shares x's storage ----
Tensor view(const Tensor& x, const Shape& shape);             // one -1 allowed; strides must allow it
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
Tensor t(const Tensor& x);                                    // transpose of a <= 2-D tensor
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor squeeze(const Tensor& x);                              // every size-1 dimension
Tensor squeeze(const Tensor& x, const std::vector<int64_t>& dims);  // those of dims that have size 1
Tensor expand(const Tensor& x, const Shape& sizes);           // -1 keeps a dimension's size
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
Tensor select(const Tensor& x, int64_t dim, int64_t index);
// Python's x[..., start:end:step] along dim: start and end are clamped like a Python slice; step > 0.
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);
std::vector<Tensor> split_with_sizes(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim = 0);
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);
std::vector<Tensor> unbind(const Tensor& x, int64_t dim = 0);
Tensor unflatten(const Tensor& x, int64_t dim, const Shape& sizes);  // one -1 allowed
Tensor diagonal(const Tensor& x, int64_t offset = 0, int64_t dim1 = 0, int64_t dim2 = 1);
// x itself when already contiguous, else a contiguous copy that autograd flows through.
Tensor contiguous(const Tensor& x);

// ---- copies into new storage ----
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);

}  // namespace ops
}  // namespace dlcore
