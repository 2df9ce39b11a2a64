// The indexing ops along one dimension, with PyTorch's signatures, checks and error types:
// index_select, index_add, index_copy, index_fill, gather, scatter, scatter_add, take and
// take_along_dim. Each checks its positions once, turns them into element offsets (position x the
// stride of that dimension) and runs one gather or scatter kernel; the _ forms write in place, and
// every form is recorded by autograd (gathers scatter-add their gradient back, scatters gather it).
#include "dlcore/profiler.h"
#include "index_util.h"

namespace dlcore::ops {
namespace {

using namespace indexing;

[[noreturn]] void out_of_bounds(const char* op, bool runtime_error, int64_t position, int64_t dim, int64_t size) {
  const std::string message = std::string(op) + ": index " + std::to_string(position) + " is out of bounds for dimension " +
                              std::to_string(dim) + " with size " + std::to_string(size);
  if (runtime_error) throw std::runtime_error(message);
  throw IndexError(message);
}

int64_t size_along(const Tensor& x, int64_t d) { return x.dim() == 0 ? 1 : x.shape()[d]; }

// The positions of a 0-D or 1-D index along dim d of x, as a 1-D int64 tensor on x's device.
Tensor positions_along(const Tensor& x, int64_t d, const Tensor& index, bool allow_negative, bool runtime_error,
                       const char* op) {
  check_defined(index, op, "index");
  if (!is_index_dtype(index.dtype()))
    throw IndexError(std::string(op) + ": expected an int64 or int32 index, got " + index.describe());
  if (index.dim() > 1)
    throw IndexError(std::string(op) + ": index is supposed to be a vector (0-D or 1-D), got " + index.describe());
  check_index_device(index, x, op, "the index");
  const int64_t size = size_along(x, d);
  return checked_positions(reshape(index, {-1}), size, allow_negative, x.device(),
                           [&](int64_t bad) { out_of_bounds(op, runtime_error, bad, d, size); });
}

// x's shape with dim d holding `count` positions: the iteration of the index_* ops.
Shape along_shape(const Tensor& x, int64_t d, int64_t count) {
  Shape shape = x.shape();
  if (!shape.empty()) shape[d] = count;
  return shape;
}

int64_t checked_dim(const Tensor& x, int64_t dim, const char* op) { return wrap_dim(dim, x.dim(), op); }

// The gradient of a gather along dim: scatter-added into zeros of the input's shape.
struct GatherBackward : Node {
  int64_t dim = 0;
  bool along_dim = false;  // index_select (1-D positions) rather than gather (positions of g's shape)
  Tensor positions;
  Shape input_shape;
  std::string node_name;
  std::vector<Tensor> apply(const Tensor& g) override {
    Tensor gx = Tensor::zeros(input_shape, g.dtype(), g.device());
    scatter_along(gx, dim, positions, g, g.shape(), along_dim, ScatterMode::Add, node_name.c_str());
    return {gx};
  }
  std::string name() const override { return node_name; }
};

void record_gather(Tensor& out, const Tensor& input, int64_t dim, const Tensor& positions, bool along_dim,
                   const char* name) {
  if (!autograd::any_requires_grad({&input})) return;
  auto node = std::make_shared<GatherBackward>();
  node->dim = dim;
  node->along_dim = along_dim;
  node->positions = positions;
  node->input_shape = input.shape();
  node->node_name = name;
  autograd::record(node, {&input}, out);
}

// The gradient of a scatter along dim (x's and the source's): x keeps g where nothing was written
// (all of g when the scatter added), the source receives g gathered at the written positions.
struct ScatterBackward : Node {
  int64_t dim = 0;
  bool along_dim = false;
  bool accumulated = false;
  Tensor positions;
  Shape iteration, source_shape;
  bool source_is_value = false;  // index_fill: the 0-d value receives the sum over the filled region
  std::string node_name;
  std::vector<Tensor> apply(const Tensor& g) override {
    std::vector<Tensor> grads(next_edges.size());
    Tensor kept = g;
    if (!accumulated && (next_edges[0].fn || source_is_value)) {
      kept = g.clone();
      scatter_along(kept, dim, positions, Tensor::zeros({}, g.dtype(), g.device()), iteration, along_dim,
                    ScatterMode::Assign, node_name.c_str());
    }
    if (next_edges[0].fn) grads[0] = kept;
    if (next_edges.size() > 1 && next_edges[1].fn) {
      if (source_is_value) {
        grads[1] = sum(add(g, kept, -1));
      } else {
        const Tensor gathered = gather_along(g, dim, positions, iteration, along_dim, node_name.c_str());
        if (iteration == source_shape) {
          grads[1] = gathered;
        } else {  // a source larger than the index: only its leading block was read
          Tensor full = Tensor::zeros(source_shape, g.dtype(), g.device());
          full.as_strided(iteration, full.strides(), 0).copy_(gathered);
          grads[1] = full;
        }
      }
    }
    return grads;
  }
  std::string name() const override { return node_name; }
};

std::shared_ptr<Node> scatter_node(int64_t dim, bool along_dim, bool accumulated, const Tensor& positions,
                                   const Shape& iteration, const Shape& source_shape, bool source_is_value,
                                   const char* name) {
  auto node = std::make_shared<ScatterBackward>();
  node->dim = dim;
  node->along_dim = along_dim;
  node->accumulated = accumulated;
  node->positions = positions;
  node->iteration = iteration;
  node->source_shape = source_shape;
  node->source_is_value = source_is_value;
  node->node_name = name;
  return node;
}

void check_source(const Tensor& x, const Tensor& source, const char* op) {
  check_defined(source, op, "source");
  if (source.dtype() != x.dtype())
    throw std::runtime_error(std::string(op) + ": self (" + dtype_name(x.dtype()) + ") and source (" +
                             dtype_name(source.dtype()) + ") must have the same scalar type");
  if (source.device() != x.device())
    throw std::runtime_error(std::string(op) + ": expected source on " + x.device().str() + " like self, got " +
                             source.describe());
}

// index_add / index_copy: source has x's shape except along dim, where it has one slab per position.
Tensor index_write(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source_in, ScatterMode mode,
                   double alpha, bool in_place, const char* op) {
  check_defined(x, op, "input");
  check_source(x, source_in, op);
  const int64_t d = checked_dim(x, dim, op);
  const bool add_mode = mode == ScatterMode::Add;
  const Tensor positions = positions_along(x, d, index, /*allow_negative=*/false, /*runtime_error=*/add_mode, op);
  const Shape iteration = along_shape(x, d, positions.numel());
  const bool fits = x.dim() == 0 ? source_in.numel() == 1 && positions.numel() == 1
                                 : source_in.shape() == iteration;
  if (!fits)
    throw ShapeError(std::string(op) + ": source tensor shape must match self tensor shape, excluding the specified "
                     "dimension, and have one slab per index (" + std::to_string(positions.numel()) +
                     "). Got self.shape = " + shape_str(x.shape()) + " source.shape = " + shape_str(source_in.shape()));
  Tensor source = x.dim() == 0 ? reshape(source_in, {}) : source_in;
  if (add_mode && alpha != 1) {
    const Scalar a = is_floating(x.dtype()) ? Scalar(alpha) : Scalar(static_cast<int64_t>(alpha));
    source = to_dtype(mul(source, Tensor::wrapped_number(a)), x.dtype());
  }
  return write_recorded(
      x, in_place, op, {&source},
      [&](const Tensor& target) { scatter_along(target, d, positions, source, iteration, true, mode, op); },
      [&] { return scatter_node(d, true, add_mode, positions, iteration, iteration, false, add_mode ? "IndexAddBackward" : "IndexCopyBackward"); });
}

Tensor index_fill_impl(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& value, bool in_place,
                       const char* op) {
  check_defined(x, op, "input");
  const int64_t d = checked_dim(x, dim, op);
  const Tensor positions = positions_along(x, d, index, /*allow_negative=*/true, /*runtime_error=*/false, op);
  const Tensor filler = value_as_tensor(value, x, op);
  const Shape iteration = along_shape(x, d, positions.numel());
  return write_recorded(
      x, in_place, op, {&filler},
      [&](const Tensor& target) { scatter_along(target, d, positions, filler, iteration, true, ScatterMode::Assign, op); },
      [&] { return scatter_node(d, true, false, positions, iteration, {}, true, "IndexFillBackward"); });
}

// gather/scatter's rule for index: x's number of dims, sizes no larger than x's apart from dim.
int64_t check_gather_index(const Tensor& x, int64_t dim, const Tensor& index, const char* op) {
  check_defined(x, op, "input");
  check_defined(index, op, "index");
  if (!is_index_dtype(index.dtype()))
    throw std::runtime_error(std::string(op) + "(): Expected dtype int32/int64 for index, got " + index.describe());
  check_index_device(index, x, op, "the index");
  if (index.dim() != x.dim() && !(x.dim() == 0 && index.numel() <= 1 && index.dim() <= 1))
    throw std::runtime_error(std::string(op) + ": Index tensor must have the same number of dimensions as input tensor, got " +
                             index.describe() + " and " + x.describe());
  const int64_t d = checked_dim(x, dim, op);
  for (int64_t k = 0; k < x.dim(); ++k)
    if (k != d && index.shape()[k] > x.shape()[k])
      throw ShapeError(std::string(op) + ": Size does not match at dimension " + std::to_string(k) + " expected index " +
                       shape_str(index.shape()) + " to be no larger than self " + shape_str(x.shape()) +
                       " apart from dimension " + std::to_string(d));
  return d;
}

Tensor gather_positions(const Tensor& x, int64_t d, const Tensor& index, bool allow_negative, const char* op) {
  const int64_t size = size_along(x, d);
  const Tensor flat_index = x.dim() == 0 ? reshape(index, {}) : index;
  return checked_positions(flat_index, size, allow_negative, x.device(),
                           [&](int64_t bad) { out_of_bounds(op, /*runtime_error=*/true, bad, d, size); });
}

Tensor scatter_impl(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src_in, ScatterMode mode,
                    bool differentiable, bool in_place, const char* op) {
  const int64_t d = check_gather_index(x, dim, index, op);
  check_defined(src_in, op, "src");
  const bool value_form = src_in.is_wrapped_number();
  Tensor src;
  if (value_form) {
    src = Tensor::full({}, src_in.item(), x.dtype(), x.device());
  } else {
    if (src_in.dtype() != x.dtype())
      throw std::runtime_error(std::string(op) + "(): Expected self.dtype to be equal to src.dtype, got " +
                               dtype_name(x.dtype()) + " and " + dtype_name(src_in.dtype()));
    if (src_in.device() != x.device())
      throw std::runtime_error(std::string(op) + ": expected src on " + x.device().str() + " like self, got " + src_in.describe());
    if (src_in.dim() != index.dim())
      throw std::runtime_error(std::string(op) + ": Index tensor must have the same number of dimensions as src tensor, got " +
                               index.describe() + " and " + src_in.describe());
    for (int64_t k = 0; k < index.dim(); ++k)
      if (index.shape()[k] > src_in.shape()[k])
        throw ShapeError(std::string(op) + ": Expected index " + shape_str(index.shape()) + " to be no larger than self " +
                         shape_str(x.shape()) + " apart from dimension " + std::to_string(d) +
                         " and to be no larger size than src " + shape_str(src_in.shape()));
    src = x.dim() == 0 ? reshape(src_in, {}) : src_in;
  }
  const Tensor positions = gather_positions(x, d, index, false, op);
  const Shape iteration = positions.shape();
  if (!differentiable && GradMode::is_enabled() && (x.requires_grad() || src.requires_grad()))
    throw std::runtime_error(std::string(op) + ": the derivative for scatter with a reduce argument is not implemented");
  std::vector<const Tensor*> others;
  if (!value_form) others.push_back(&src);
  const Shape source_shape = src.shape();
  return write_recorded(
      x, in_place, op, others,
      [&](const Tensor& target) { scatter_along(target, d, positions, src, iteration, false, mode, op); },
      [&] {
        return scatter_node(d, false, mode == ScatterMode::Add, positions, iteration, source_shape, false,
                            mode == ScatterMode::Add ? "ScatterAddBackward" : "ScatterBackward");
      });
}

ScatterMode reduce_mode(const std::string& reduce, const char* op) {
  if (reduce.empty()) return ScatterMode::Assign;
  if (reduce == "add") return ScatterMode::Add;
  if (reduce == "multiply") return ScatterMode::Multiply;
  throw std::runtime_error(std::string(op) + ": reduce argument must be either add or multiply, got '" + reduce + "'");
}

// take's gradient: g scatter-added into zeros at the row-major positions it was read from.
struct TakeBackward : Node {
  Shape input_shape;
  Tensor positions;  // row-major positions into input_shape
  std::vector<Tensor> apply(const Tensor& g) override {
    Tensor gx = Tensor::zeros({shape_numel(input_shape)}, g.dtype(), g.device());
    const Shape& shape = g.shape();
    scatter_into(gx, positions.contiguous(), g,
                 make_index_iter(shape, Shape(shape.size(), 0), contiguous_strides(shape), g.strides(), "TakeBackward"),
                 ScatterMode::Add, "TakeBackward");
    return {reshape(gx, input_shape)};
  }
  std::string name() const override { return "TakeBackward"; }
};

}  // namespace

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  profiler::OpScope profile_scope("index_select", x, index);
  const char* op = "index_select";
  check_defined(x, op, "input");
  check_defined(index, op, "index");
  if (!is_index_dtype(index.dtype())) throw ValueError("index_select: expected an int64 or int32 index, got " + index.describe());
  if (index.dim() > 1) throw ShapeError("index_select: index must be 0-D or 1-D, got " + index.describe());
  if (x.dim() == 0) throw IndexError("index_select: cannot be applied to a 0-D tensor");
  const int64_t d = checked_dim(x, dim, op);
  const Tensor positions = positions_along(x, d, index, false, false, op);
  Tensor out = gather_along(x, d, positions, along_shape(x, d, positions.numel()), true, op);
  record_gather(out, x, d, positions, true, "IndexSelectBackward");
  return out;
}

Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, double alpha) {
  profiler::OpScope profile_scope("index_add", x, index, source);
  return index_write(x, dim, index, source, ScatterMode::Add, alpha, false, "index_add");
}
Tensor index_add_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, double alpha) {
  profiler::OpScope profile_scope("index_add_", x, index, source);
  return index_write(x, dim, index, source, ScatterMode::Add, alpha, true, "index_add_");
}
Tensor index_copy(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source) {
  profiler::OpScope profile_scope("index_copy", x, index, source);
  return index_write(x, dim, index, source, ScatterMode::Assign, 1, false, "index_copy");
}
Tensor index_copy_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source) {
  profiler::OpScope profile_scope("index_copy_", x, index, source);
  return index_write(x, dim, index, source, ScatterMode::Assign, 1, true, "index_copy_");
}
Tensor index_fill(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& value) {
  profiler::OpScope profile_scope("index_fill", x, index, value);
  return index_fill_impl(x, dim, index, value, false, "index_fill");
}
Tensor index_fill_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& value) {
  profiler::OpScope profile_scope("index_fill_", x, index, value);
  return index_fill_impl(x, dim, index, value, true, "index_fill_");
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  profiler::OpScope profile_scope("gather", x, index);
  const char* op = "gather";
  const int64_t d = check_gather_index(x, dim, index, op);
  const Tensor positions = gather_positions(x, d, index, false, op);
  Tensor out = gather_along(x, d, positions, positions.shape(), false, op);
  record_gather(out, x, d, positions, false, "GatherBackward");
  return out;
}

Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, const std::string& reduce) {
  profiler::OpScope profile_scope("scatter", x, index, src);
  return scatter_impl(x, dim, index, src, reduce_mode(reduce, "scatter"), reduce.empty(), false, "scatter");
}
Tensor scatter_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, const std::string& reduce) {
  profiler::OpScope profile_scope("scatter_", x, index, src);
  return scatter_impl(x, dim, index, src, reduce_mode(reduce, "scatter_"), reduce.empty(), true, "scatter_");
}
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  profiler::OpScope profile_scope("scatter_add", x, index, src);
  return scatter_impl(x, dim, index, src, ScatterMode::Add, true, false, "scatter_add");
}
Tensor scatter_add_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  profiler::OpScope profile_scope("scatter_add_", x, index, src);
  return scatter_impl(x, dim, index, src, ScatterMode::Add, true, true, "scatter_add_");
}

Tensor take(const Tensor& x, const Tensor& index) {
  profiler::OpScope profile_scope("take", x, index);
  const char* op = "take";
  check_defined(x, op, "input");
  check_defined(index, op, "index");
  if (index.dtype() != DType::Int64)
    throw std::runtime_error("take(): Expected a long tensor for index, but got " + index.describe());
  check_index_device(index, x, op, "the index");
  const int64_t n = x.numel();
  const Tensor positions = checked_positions(index, n, true, x.device(), [&](int64_t bad) {
    throw IndexError("take: out of range: tried to access index " + std::to_string(bad) + " on a tensor of " +
                     std::to_string(n) + " elements.");
  });
  const Shape& shape = index.shape();
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  if (out.numel() > 0) {
    // Row-major positions are element offsets of a contiguous tensor: strided views are read from a copy.
    const Tensor data = x.contiguous();
    gather_into(data, positions.contiguous(), out,
                make_index_iter(shape, Shape(shape.size(), 0), contiguous_strides(shape), contiguous_strides(shape), op));
  }
  if (autograd::any_requires_grad({&x})) {
    auto node = std::make_shared<TakeBackward>();
    node->input_shape = x.shape();
    node->positions = positions;
    autograd::record(node, {&x}, out);
  }
  return out;
}

Tensor take_along_dim(const Tensor& x, const Tensor& indices, std::optional<int64_t> dim) {
  profiler::OpScope profile_scope("take_along_dim", x, indices);
  const char* op = "take_along_dim";
  check_defined(x, op, "input");
  check_defined(indices, op, "indices");
  if (indices.dtype() != DType::Int64)
    throw std::runtime_error("take_along_dim(): dtype of indices should be int64 but got " + indices.describe());
  if (!dim) return take_along_dim(reshape(x, {-1}), reshape(indices, {-1}), 0);
  if (x.dim() != indices.dim())
    throw std::runtime_error("take_along_dim(): input and indices should have the same number of dimensions, but got " +
                             std::to_string(x.dim()) + " dimensions for input, and " + std::to_string(indices.dim()) +
                             " dimensions for indices");
  check_index_device(indices, x, op, "the indices");
  const int64_t d = checked_dim(x, *dim, op);
  Shape x_shape = x.shape(), index_shape = indices.shape();
  for (int64_t k = 0; k < x.dim(); ++k) {
    if (k == d) continue;
    const int64_t a = x.shape()[k], b = indices.shape()[k];
    if (a != b && a != 1 && b != 1)
      throw ShapeError(std::string(op) + ": The size of tensor a (" + std::to_string(a) + ") must match the size of tensor b (" +
                       std::to_string(b) + ") at non-singleton dimension " + std::to_string(k));
    x_shape[k] = index_shape[k] = a == 1 ? b : a;
  }
  const Tensor expanded = x_shape == x.shape() ? x : expand(x, x_shape);
  const Tensor expanded_index = index_shape == indices.shape() ? indices : expand(indices, index_shape);
  const Tensor positions = gather_positions(expanded, d, expanded_index, true, op);
  Tensor out = gather_along(expanded, d, positions, positions.shape(), false, op);
  record_gather(out, expanded, d, positions, false, "TakeAlongDimBackward");
  return out;
}

}  // namespace dlcore::ops
