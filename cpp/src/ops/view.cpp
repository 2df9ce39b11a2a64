// The view ops: each computes new sizes, strides and offset over its input's storage (no copy) and
// records a ViewBackward whose gradient either inverts the view (permute, reshape-like views) or
// writes the incoming gradient through the same view of a fresh zero tensor (select, slice, ...).
#include <algorithm>
#include <functional>
#include <numeric>

#include "dlcore/profiler.h"
#include "op_util.h"

namespace dlcore {

std::optional<Shape> view_strides(const Shape& sizes, const Shape& strides, const Shape& new_sizes) {
  Shape new_strides(new_sizes.size());
  if (sizes.empty()) {
    std::fill(new_strides.begin(), new_strides.end(), 1);
    return new_strides;
  }
  const int64_t numel = shape_numel(sizes);
  if (numel == 0 && sizes == new_sizes) return strides;
  if (numel == 0) {  // nothing to address: any strides will do, take the contiguous ones
    int64_t stride = 1;
    for (size_t d = new_sizes.size(); d-- > 0;) {
      new_strides[d] = stride;
      stride *= std::max<int64_t>(new_sizes[d], 1);
    }
    return new_strides;
  }
  // Walk the old dimensions from the innermost, grouping runs that are contiguous with each other
  // into chunks; each chunk must be covered exactly by a run of new dimensions.
  int64_t view_d = static_cast<int64_t>(new_sizes.size()) - 1;
  int64_t chunk_base_stride = strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t tensor_d = static_cast<int64_t>(sizes.size()) - 1; tensor_d >= 0; --tensor_d) {
    tensor_numel *= sizes[tensor_d];
    const bool chunk_ends = tensor_d == 0 || (sizes[tensor_d - 1] != 1 &&
                                              strides[tensor_d - 1] != tensor_numel * chunk_base_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (view_numel < tensor_numel || new_sizes[view_d] == 1)) {
      new_strides[view_d] = view_numel * chunk_base_stride;
      view_numel *= new_sizes[view_d];
      --view_d;
    }
    if (view_numel != tensor_numel) return std::nullopt;
    if (tensor_d > 0) {
      chunk_base_stride = strides[tensor_d - 1];
      tensor_numel = 1;
      view_numel = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  return new_strides;
}

Shape infer_view_shape(const Shape& requested, const Shape& input_shape, const char* op) {
  const int64_t numel = shape_numel(input_shape);
  Shape shape = requested;
  int64_t known = 1, nonzero_product = 1, infer = -1;
  auto invalid = [&] {
    return ShapeError(std::string(op) + ": shape " + shape_str(requested) + " is invalid for input of shape " +
                      shape_str(input_shape) + " (" + std::to_string(numel) + " elements)");
  };
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) throw ShapeError(std::string(op) + ": shape " + shape_str(requested) + " is invalid: only one dimension can be -1");
      infer = static_cast<int64_t>(i);
    } else if (shape[i] < 0) {
      throw ShapeError(std::string(op) + ": invalid shape dimension " + std::to_string(shape[i]) + " in " +
                       shape_str(requested));
    } else {
      known *= shape[i];
      // A product past int64 (zeros aside, as shape_numel counts) can never match the input.
      if (shape[i] != 0 && __builtin_mul_overflow(nonzero_product, shape[i], &nonzero_product))
        throw ShapeError(std::string(op) + ": shape " + shape_str(requested) + " is invalid for input of shape " +
                         shape_str(input_shape) + ": its element count overflows int64");
    }
  }
  if (infer >= 0) {
    if (known == 0 || numel % known != 0) throw invalid();
    shape[infer] = numel / known;
  }
  if (shape_numel(shape) != numel) throw invalid();
  return shape;
}

namespace ops {
namespace {

// A view of its argument, or (for ViewBackward) the gradient of an input from that of a view.
using ViewFunction = std::function<Tensor(const Tensor&)>;

// The backward of every view: `gradient` maps the view's gradient to the input's.
struct ViewBackward : Node {
  std::string op;
  ViewFunction gradient;
  std::vector<Tensor> apply(const Tensor& g) override { return {gradient(g)}; }
  std::string name() const override { return op; }
};

void record_view(const Tensor& x, Tensor& out, const char* name, ViewFunction gradient) {
  if (!autograd::any_requires_grad({&x})) return;
  auto node = std::make_shared<ViewBackward>();
  node->op = name;
  node->gradient = std::move(gradient);
  autograd::record(node, {&x}, out);
}

// A view that selects part of its input: the gradient is g written through the same view of zeros.
Tensor partial_view(const Tensor& x, const char* name, ViewFunction view_of) {
  Tensor out = view_of(x);
  Shape input_shape = x.shape();
  record_view(x, out, name, [input_shape, view_of](const Tensor& g) {
    Tensor gx = Tensor::zeros(input_shape, g.dtype(), g.device());
    view_of(gx).copy_(g);
    return gx;
  });
  return out;
}

// A view that keeps every element in the same order (view, squeeze, unsqueeze, unflatten): the
// gradient is g reshaped back.
Tensor reshaping_view(const Tensor& x, const char* name, const Shape& sizes, const Shape& strides) {
  Tensor out = x.as_strided(sizes, strides, x.storage_offset());
  Shape input_shape = x.shape();
  record_view(x, out, name, [input_shape](const Tensor& g) {
    std::optional<Shape> st = view_strides(g.shape(), g.strides(), input_shape);
    return st ? g.as_strided(input_shape, *st, g.storage_offset()) : g.contiguous().view(input_shape);
  });
  return out;
}

Tensor permute_raw(const Tensor& x, const std::vector<int64_t>& dims) {
  Shape sizes(dims.size()), strides(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    sizes[i] = x.shape()[dims[i]];
    strides[i] = x.strides()[dims[i]];
  }
  return x.as_strided(sizes, strides, x.storage_offset());
}

Tensor slice_raw(const Tensor& x, int64_t dim, int64_t start, int64_t length, int64_t step) {
  Shape sizes = x.shape(), strides = x.strides();
  const int64_t offset = x.storage_offset() + start * strides[dim];
  sizes[dim] = length;
  strides[dim] *= step;
  return x.as_strided(sizes, strides, offset);
}

Tensor select_raw(const Tensor& x, int64_t dim, int64_t index) {
  Shape sizes = x.shape(), strides = x.strides();
  const int64_t offset = x.storage_offset() + index * strides[dim];
  sizes.erase(sizes.begin() + dim);
  strides.erase(strides.begin() + dim);
  return x.as_strided(sizes, strides, offset);
}

}  // namespace

Tensor view(const Tensor& x, const Shape& shape) {
  profiler::OpScope profile_scope("view", x);
  check_defined(x, "view", "input");
  Tensor v = x.view(shape);  // the checks and torch's stride rule live in Tensor::view
  return reshaping_view(x, "ViewBackward", v.shape(), v.strides());
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  profiler::OpScope profile_scope("permute", x);
  check_defined(x, "permute", "input");
  if (static_cast<int64_t>(dims.size()) != x.dim())
    throw ShapeError("permute: the number of dims " + shape_str(dims) + " does not match the " +
                     std::to_string(x.dim()) + "-D input of shape " + shape_str(x.shape()));
  std::vector<int64_t> wrapped(dims.size()), inverse(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    wrapped[i] = wrap_dim(dims[i], x.dim(), "permute");
    if (seen[wrapped[i]]) throw ShapeError("permute: duplicate dims are not allowed, got " + shape_str(dims));
    seen[wrapped[i]] = true;
    inverse[wrapped[i]] = static_cast<int64_t>(i);
  }
  Tensor out = permute_raw(x, wrapped);
  record_view(x, out, "PermuteBackward", [inverse](const Tensor& g) { return permute_raw(g, inverse); });
  return out;
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  profiler::OpScope profile_scope("transpose", x);
  check_defined(x, "transpose", "input");
  const int64_t a = wrap_dim(dim0, x.dim(), "transpose"), b = wrap_dim(dim1, x.dim(), "transpose");
  if (x.dim() == 0) return permute(x, {});
  std::vector<int64_t> dims(x.dim());
  std::iota(dims.begin(), dims.end(), 0);
  std::swap(dims[a], dims[b]);
  return permute(x, dims);
}

Tensor t(const Tensor& x) {
  profiler::OpScope profile_scope("t", x);
  check_defined(x, "t", "input");
  if (x.dim() > 2)
    throw ShapeError("t: expects a tensor with <= 2 dimensions, but got " + std::to_string(x.dim()) + "-D input of shape " +
                     shape_str(x.shape()) + "; use transpose(dim0, dim1) or mT");
  return x.dim() < 2 ? permute(x, x.dim() == 1 ? std::vector<int64_t>{0} : std::vector<int64_t>{}) : transpose(x, 0, 1);
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  profiler::OpScope profile_scope("unsqueeze", x);
  check_defined(x, "unsqueeze", "input");
  const int64_t d = wrap_dim(dim, x.dim() + 1, "unsqueeze");
  Shape sizes = x.shape(), strides = x.strides();
  const int64_t stride = d < x.dim() ? sizes[d] * strides[d] : 1;
  sizes.insert(sizes.begin() + d, 1);
  strides.insert(strides.begin() + d, stride);
  return reshaping_view(x, "UnsqueezeBackward", sizes, strides);
}

Tensor squeeze(const Tensor& x) {
  profiler::OpScope profile_scope("squeeze", x);
  check_defined(x, "squeeze", "input");
  std::vector<int64_t> all(x.dim());
  std::iota(all.begin(), all.end(), 0);
  return squeeze(x, all);
}

Tensor squeeze(const Tensor& x, const std::vector<int64_t>& dims) {
  profiler::OpScope profile_scope("squeeze", x);
  check_defined(x, "squeeze", "input");
  std::vector<bool> drop(x.dim(), false);
  for (int64_t dim : dims) {
    const int64_t d = wrap_dim(dim, x.dim(), "squeeze");
    if (x.dim() > 0 && x.shape()[d] == 1) drop[d] = true;
  }
  Shape sizes, strides;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (drop[d]) continue;
    sizes.push_back(x.shape()[d]);
    strides.push_back(x.strides()[d]);
  }
  return reshaping_view(x, "SqueezeBackward", sizes, strides);
}

Tensor expand(const Tensor& x, const Shape& requested) {
  profiler::OpScope profile_scope("expand", x);
  check_defined(x, "expand", "input");
  const int64_t nd = static_cast<int64_t>(requested.size()), lead = nd - x.dim();
  if (lead < 0)
    throw ShapeError("expand: the number of sizes " + shape_str(requested) + " must be at least the number of dimensions of "
                     "the input of shape " + shape_str(x.shape()));
  Shape sizes(nd), strides(nd);
  for (int64_t d = 0; d < nd; ++d) {
    const int64_t want = requested[d];
    if (d < lead) {
      if (want < 0)
        throw ShapeError("expand: size " + std::to_string(want) + " is not allowed in a new leading dimension " +
                         std::to_string(d) + " (sizes " + shape_str(requested) + ", input " + shape_str(x.shape()) + ")");
      sizes[d] = want;
      strides[d] = 0;
      continue;
    }
    const int64_t have = x.shape()[d - lead];
    if (want == -1 || want == have) {
      sizes[d] = have;
      strides[d] = x.strides()[d - lead];
    } else if (have == 1 && want >= 0) {
      sizes[d] = want;
      strides[d] = 0;
    } else {
      throw ShapeError("expand: the expanded size " + std::to_string(want) + " must match the existing size " +
                       std::to_string(have) + " at non-singleton dimension " + std::to_string(d) + " (sizes " +
                       shape_str(requested) + ", input " + shape_str(x.shape()) + ")");
    }
  }
  Tensor out = x.as_strided(sizes, strides, x.storage_offset());
  Shape input_shape = x.shape();
  record_view(x, out, "ExpandBackward", [input_shape](const Tensor& g) { return sum_to_shape(g, input_shape); });
  return out;
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  profiler::OpScope profile_scope("narrow", x);
  check_defined(x, "narrow", "input");
  if (x.dim() == 0) throw IndexError("narrow: cannot be applied to a 0-D tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "narrow"), size = x.shape()[d];
  if (start < -size || start > size)
    throw IndexError("narrow: start " + std::to_string(start) + " out of range (expected to be in range of [" +
                     std::to_string(-size) + ", " + std::to_string(size) + "]) for dimension " + std::to_string(d) +
                     " of shape " + shape_str(x.shape()));
  if (start < 0) start += size;
  if (length < 0 || start + length > size)
    throw ShapeError("narrow: start (" + std::to_string(start) + ") + length (" + std::to_string(length) +
                     ") exceeds dimension size (" + std::to_string(size) + ") of shape " + shape_str(x.shape()));
  return partial_view(x, "NarrowBackward", [d, start, length](const Tensor& t) { return slice_raw(t, d, start, length, 1); });
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  profiler::OpScope profile_scope("select", x);
  check_defined(x, "select", "input");
  if (x.dim() == 0) throw IndexError("select: cannot be applied to a 0-D tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "select"), size = x.shape()[d];
  if (index < -size || index >= size)
    throw IndexError("select: index " + std::to_string(index) + " is out of bounds for dimension " + std::to_string(d) +
                     " with size " + std::to_string(size) + " (shape " + shape_str(x.shape()) + ")");
  if (index < 0) index += size;
  return partial_view(x, "SelectBackward", [d, index](const Tensor& t) { return select_raw(t, d, index); });
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  profiler::OpScope profile_scope("slice", x);
  check_defined(x, "slice", "input");
  if (x.dim() == 0) throw IndexError("slice: cannot be applied to a 0-D tensor");
  if (step <= 0) throw ValueError("slice: step must be greater than zero, got " + std::to_string(step));
  const int64_t d = wrap_dim(dim, x.dim(), "slice"), size = x.shape()[d];
  auto clamp = [size](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + size : i, 0, size); };
  start = clamp(start);
  end = clamp(end);
  const int64_t length = end > start ? (end - start + step - 1) / step : 0;
  return partial_view(x, "SliceBackward",
                      [d, start, length, step](const Tensor& t) { return slice_raw(t, d, start, length, step); });
}

std::vector<Tensor> split_with_sizes(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  profiler::OpScope profile_scope("split_with_sizes", x);
  check_defined(x, "split_with_sizes", "input");
  if (x.dim() == 0) throw ShapeError("split_with_sizes: cannot be applied to a 0-D tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "split_with_sizes");
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0) throw ShapeError("split_with_sizes: split sizes must be non-negative, got " + shape_str(sizes));
    total += s;
  }
  if (total != x.shape()[d])
    throw ShapeError("split_with_sizes: split sizes " + shape_str(sizes) + " must sum exactly to " +
                     std::to_string(x.shape()[d]) + " (the size of dimension " + std::to_string(d) + " of shape " +
                     shape_str(x.shape()) + ")");
  std::vector<Tensor> pieces;
  int64_t start = 0;
  for (int64_t s : sizes) {
    pieces.push_back(narrow(x, d, start, s));
    start += s;
  }
  return pieces;
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  profiler::OpScope profile_scope("split", x);
  check_defined(x, "split", "input");
  if (x.dim() == 0) throw ShapeError("split: cannot be applied to a 0-D tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "split"), size = x.shape()[d];
  if (split_size < 0 || (split_size == 0 && size != 0))
    throw ShapeError("split: split_size must be positive (0 only for an empty dimension), got " +
                     std::to_string(split_size) + " for dimension " + std::to_string(d) + " of shape " + shape_str(x.shape()));
  if (size == 0) return {narrow(x, d, 0, 0)};
  std::vector<int64_t> sizes;
  for (int64_t start = 0; start < size; start += split_size) sizes.push_back(std::min(split_size, size - start));
  return split_with_sizes(x, sizes, d);
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  profiler::OpScope profile_scope("chunk", x);
  check_defined(x, "chunk", "input");
  if (chunks <= 0) throw ShapeError("chunk: expects chunks to be greater than 0, got " + std::to_string(chunks));
  if (x.dim() == 0) throw ShapeError("chunk: cannot be applied to a 0-D tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "chunk"), size = x.shape()[d];
  if (size == 0) return std::vector<Tensor>(chunks, narrow(x, d, 0, 0));
  return split(x, (size + chunks - 1) / chunks, d);
}

std::vector<Tensor> unbind(const Tensor& x, int64_t dim) {
  profiler::OpScope profile_scope("unbind", x);
  check_defined(x, "unbind", "input");
  if (x.dim() == 0) throw IndexError("unbind: cannot be applied to a 0-D tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "unbind");
  std::vector<Tensor> pieces;
  for (int64_t i = 0; i < x.shape()[d]; ++i) pieces.push_back(select(x, d, i));
  return pieces;
}

Tensor unflatten(const Tensor& x, int64_t dim, const Shape& sizes) {
  profiler::OpScope profile_scope("unflatten", x);
  check_defined(x, "unflatten", "input");
  if (x.dim() == 0) throw IndexError("unflatten: cannot be applied to a 0-D tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "unflatten");
  if (sizes.empty()) throw ShapeError("unflatten: sizes must be non-empty");
  Shape inner;
  try {
    inner = infer_view_shape(sizes, {x.shape()[d]}, "unflatten");
  } catch (const ShapeError&) {
    throw ShapeError("unflatten: sizes " + shape_str(sizes) + " don't multiply up to the size of dim " + std::to_string(d) +
                     " (" + std::to_string(x.shape()[d]) + ") of the input of shape " + shape_str(x.shape()));
  }
  Shape shape(x.shape().begin(), x.shape().begin() + d);
  shape.insert(shape.end(), inner.begin(), inner.end());
  shape.insert(shape.end(), x.shape().begin() + d + 1, x.shape().end());
  // Splitting one dimension into several always has strides, whatever the input's layout.
  return reshaping_view(x, "UnflattenBackward", shape, *view_strides(x.shape(), x.strides(), shape));
}

Tensor diagonal(const Tensor& x, int64_t offset, int64_t dim1, int64_t dim2) {
  profiler::OpScope profile_scope("diagonal", x);
  check_defined(x, "diagonal", "input");
  if (x.dim() < 2) throw ShapeError("diagonal: expects a tensor with at least 2 dimensions, got shape " + shape_str(x.shape()));
  const int64_t a = wrap_dim(dim1, x.dim(), "diagonal"), b = wrap_dim(dim2, x.dim(), "diagonal");
  if (a == b)
    throw ShapeError("diagonal: dimensions cannot be identical, got " + std::to_string(dim1) + " and " + std::to_string(dim2));
  return partial_view(x, "DiagonalBackward", [offset, a, b](const Tensor& t) {
    const int64_t rows = t.shape()[a], cols = t.shape()[b];
    const int64_t length = std::max<int64_t>(0, offset >= 0 ? std::min(rows, cols - offset) : std::min(rows + offset, cols));
    int64_t start = t.storage_offset();
    if (length > 0) start += offset >= 0 ? offset * t.strides()[b] : -offset * t.strides()[a];
    Shape sizes, strides;
    for (int64_t d = 0; d < t.dim(); ++d) {
      if (d == a || d == b) continue;
      sizes.push_back(t.shape()[d]);
      strides.push_back(t.strides()[d]);
    }
    sizes.push_back(length);
    strides.push_back(t.strides()[a] + t.strides()[b]);
    return t.as_strided(sizes, strides, start);
  });
}

Tensor contiguous(const Tensor& x) {  // its copy is recorded by Tensor::contiguous's scope
  check_defined(x, "contiguous", "input");
  if (x.is_contiguous()) return x;
  Tensor out = x.contiguous();
  record_view(x, out, "CloneBackward", [](const Tensor& g) { return g; });
  return out;
}

}  // namespace ops
}  // namespace dlcore
