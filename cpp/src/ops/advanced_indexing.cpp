// Python's subscripts with PyTorch's rules: x[key] and x[key] = value for any mix of ints, slices,
// None, ..., bools, integer index tensors and masks; index_put(_); the mask ops (masked_fill,
// masked_select, masked_scatter) and nonzero. A key is resolved into a view of x (the basic items)
// plus one int64 position tensor per indexed dimension of that view (masks become their nonzero()
// columns); the positions broadcast together and, times the view's strides, sum to the offsets of
// one gather (x[key]) or scatter (x[key] = v) kernel. Backward: a scatter-add of the gradient into
// zeros (x[key]), and for writes, the gradient with the written region zeroed plus a gather of it.
#include <algorithm>
#include <limits>

#include "dlcore/profiler.h"
#include "index_util.h"
#include "pointwise.h"

namespace dlcore::ops {
namespace {

using namespace indexing;

constexpr int64_t kToTheEnd = std::numeric_limits<int64_t>::max();

bool is_full_slice(const IndexItem& item, int64_t size) {
  return item.kind == IndexItem::Kind::Slice && item.start == 0 && item.step == 1 && item.stop >= size;
}

// x after the basic items of a resolved key (Int: already wrapped and checked; Slice; None).
Tensor apply_basic(const Tensor& x, const std::vector<IndexItem>& basic) {
  Tensor out = x;
  int64_t d = 0;
  for (const IndexItem& item : basic) {
    switch (item.kind) {
      case IndexItem::Kind::None: out = unsqueeze(out, d++); break;
      case IndexItem::Kind::Int: out = select(out, d, item.start); break;
      case IndexItem::Kind::Slice:
        if (!is_full_slice(item, out.size(d))) out = slice(out, d, item.start, item.stop, item.step);
        ++d;
        break;
      default: throw std::logic_error("apply_basic: not a basic index item");
    }
  }
  return out;
}

bool any_defined(const std::vector<Tensor>& tensors) {
  for (const Tensor& t : tensors)
    if (t.defined()) return true;
  return false;
}

// A key resolved against x: the view its basic items give, those items in a form any tensor of x's
// shape can replay (the backward nodes do), and the positions of the advanced ones.
struct Resolved {
  Tensor view;
  std::vector<IndexItem> basic;   // Int, Slice and None only
  std::vector<Tensor> advanced;   // one per dim of view: int64 positions on x's device, or undefined
};

int64_t dims_consumed(const IndexItem& item) {
  switch (item.kind) {
    case IndexItem::Kind::Int:
    case IndexItem::Kind::Slice: return 1;
    case IndexItem::Kind::Tensor: {
      const Tensor& t = item.tensor;
      if (is_mask_dtype(t.dtype())) return t.dim();  // a 0-d mask adds a dimension, like a bool
      return 1;
    }
    default: return 0;
  }
}

Resolved resolve(const Tensor& x, const std::vector<IndexItem>& key, const char* op) {
  int64_t consumed = 0, ellipses = 0;
  for (const IndexItem& item : key) {
    if (item.kind == IndexItem::Kind::Ellipsis) ++ellipses;
    if (item.kind == IndexItem::Kind::Tensor) {
      const Tensor& t = item.tensor;
      check_defined(t, op, "an index tensor");
      if (!is_index_dtype(t.dtype()) && !is_mask_dtype(t.dtype()))
        throw IndexError(std::string(op) + ": tensors used as indices must be long, int, byte or bool tensors, got " +
                         t.describe());
      check_index_device(t, x, op, "an index tensor");
    }
    consumed += dims_consumed(item);
  }
  if (ellipses > 1) throw IndexError(std::string(op) + ": an index can only have a single ellipsis ('...')");
  if (consumed > x.dim())
    throw IndexError(std::string(op) + ": too many indices for tensor of dimension " + std::to_string(x.dim()) +
                     " (got " + std::to_string(consumed) + "; shape " + shape_str(x.shape()) + ")");

  enum class PendingKind { Index, Mask, Trusted };
  struct Pending {
    int64_t dim;
    Tensor tensor;
    PendingKind kind;
  };
  std::vector<Pending> pending;
  Resolved r;
  r.view = x;
  int64_t d = 0;
  auto full_slice = [&] { r.basic.push_back(IndexItem::slice(0, kToTheEnd, 1)); };
  auto select_int = [&](int64_t i) {
    const int64_t size = r.view.size(d);
    if (i < -size || i >= size)
      throw IndexError(std::string(op) + ": index " + std::to_string(i) + " is out of bounds for dimension " +
                       std::to_string(d) + " with size " + std::to_string(size));
    if (i < 0) i += size;
    r.view = select(r.view, d, i);
    r.basic.push_back(IndexItem::integer(i));
  };
  // x[True] adds a dimension of size 1 indexed by [0], x[False] one indexed by [] (torch's rule).
  auto add_bool = [&](bool flag) {
    r.view = unsqueeze(r.view, d);
    r.basic.push_back(IndexItem::none());
    pending.push_back({d, flag ? Tensor::zeros({1}, DType::Int64) : Tensor::empty({0}, DType::Int64), PendingKind::Trusted});
    ++d;
  };
  for (const IndexItem& item : key) {
    switch (item.kind) {
      case IndexItem::Kind::None:
        r.view = unsqueeze(r.view, d++);
        r.basic.push_back(item);
        break;
      case IndexItem::Kind::Ellipsis:
        for (int64_t k = 0; k < x.dim() - consumed; ++k) full_slice();
        d += x.dim() - consumed;
        break;
      case IndexItem::Kind::Bool: add_bool(item.flag); break;
      case IndexItem::Kind::Int: select_int(item.start); break;
      case IndexItem::Kind::Slice:
        if (item.step <= 0) throw ValueError(std::string(op) + ": step must be greater than zero, got " + std::to_string(item.step));
        r.view = slice(r.view, d, item.start, item.stop, item.step);
        r.basic.push_back(item);
        ++d;
        break;
      case IndexItem::Kind::Tensor: {
        const Tensor& t = item.tensor;
        if (t.dim() == 0) {  // a 0-d integer tensor indexes like the int it holds; a 0-d mask like a bool
          const Scalar value = t.item();
          if (is_index_dtype(t.dtype())) select_int(value.to_int64());
          else add_bool(value.to_int64() != 0);
        } else if (is_mask_dtype(t.dtype())) {
          for (int64_t j = 0; j < t.dim(); ++j)
            if (t.shape()[j] != r.view.size(d + j))
              throw IndexError(std::string(op) + ": The shape of the mask " + shape_str(t.shape()) + " at index " +
                               std::to_string(j) + " does not match the shape of the indexed tensor " +
                               shape_str(r.view.shape()) + " at index " + std::to_string(d + j));
          for (int64_t j = 0; j < t.dim(); ++j) full_slice();
          pending.push_back({d, t, PendingKind::Mask});
          d += t.dim();
        } else {
          full_slice();
          pending.push_back({d, t, PendingKind::Index});
          ++d;
        }
        break;
      }
    }
  }
  r.advanced.assign(r.view.dim(), Tensor());
  int64_t ordinal = 0;  // torch names an index by its place among the advanced ones
  NoGradGuard no_grad;
  for (const Pending& p : pending) {
    if (p.kind == PendingKind::Mask) {
      const Tensor coords = nonzero(p.tensor);
      for (int64_t j = 0; j < p.tensor.dim(); ++j) r.advanced[p.dim + j] = select(coords, 1, j).to(x.device());
      ordinal += p.tensor.dim();
    } else if (p.kind == PendingKind::Trusted) {
      r.advanced[p.dim] = p.tensor.to(x.device());
      ++ordinal;
    } else {
      const int64_t size = r.view.size(p.dim), k = ordinal++;
      r.advanced[p.dim] = checked_positions(p.tensor, size, true, x.device(), [&](int64_t bad) {
        throw IndexError(std::string(op) + ": index " + std::to_string(bad) + " is out of bounds for dimension " +
                         std::to_string(k) + " with size " + std::to_string(size));
      });
    }
  }
  return r;
}

// The gather/scatter of advanced positions over base (a view): the result's shape, the offsets of
// the broadcast positions and, per result dimension, the strides into base and into the offsets.
struct AdvancedPlan {
  Shape result_shape;
  Tensor offsets;
  Shape data_strides, offset_strides;
};

AdvancedPlan plan_advanced(const Tensor& base, const std::vector<Tensor>& advanced, const char* op) {
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < static_cast<int64_t>(advanced.size()); ++d)
    if (advanced[d].defined()) dims.push_back(d);
  Shape broadcast;
  std::string shapes;
  for (int64_t d : dims) {
    shapes += (shapes.empty() ? "" : ", ") + shape_str(advanced[d].shape());
    std::optional<Shape> b = broadcast_shapes(broadcast, advanced[d].shape());
    if (!b)
      throw IndexError(std::string(op) + ": shape mismatch: indexing tensors could not be broadcast together with shapes " +
                       shapes + (d == dims.back() ? "" : ", ..."));
    broadcast = *b;
  }
  AdvancedPlan p;
  {
    NoGradGuard no_grad;
    Tensor sum;
    for (int64_t d : dims) {
      const int64_t stride = base.strides()[d];
      const Tensor term = stride == 1 ? advanced[d] : mul(advanced[d], Tensor::wrapped_number(Scalar(stride)));
      sum = sum.defined() ? add(sum, term) : term;
    }
    if (sum.shape() != broadcast) sum = expand(sum, broadcast);
    p.offsets = sum.contiguous();
  }
  const Shape broadcast_strides = contiguous_strides(broadcast);
  auto push_indexed = [&] {
    for (size_t j = 0; j < broadcast.size(); ++j) {
      p.result_shape.push_back(broadcast[j]);
      p.data_strides.push_back(0);
      p.offset_strides.push_back(broadcast_strides[j]);
    }
  };
  auto push_plain = [&](int64_t d) {
    p.result_shape.push_back(base.shape()[d]);
    p.data_strides.push_back(base.strides()[d]);
    p.offset_strides.push_back(0);
  };
  // Adjacent advanced dims are replaced in place by the broadcast shape; otherwise it goes first.
  const bool adjacent = dims.back() - dims.front() + 1 == static_cast<int64_t>(dims.size());
  if (!adjacent) push_indexed();
  for (int64_t d = 0; d < base.dim(); ++d) {
    if (!advanced[d].defined()) push_plain(d);
    else if (adjacent && d == dims.front()) push_indexed();
  }
  return p;
}

// base[advanced] as a new tensor.
Tensor gather_advanced(const Tensor& base, const std::vector<Tensor>& advanced, const char* op) {
  const AdvancedPlan p = plan_advanced(base, advanced, op);
  Tensor out = Tensor::empty(p.result_shape, base.dtype(), base.device());
  gather_into(base, p.offsets, out,
              make_index_iter(p.result_shape, p.data_strides, p.offset_strides, contiguous_strides(p.result_shape), op));
  return out;
}

// base[advanced] (=, +=) values, values already of base's dtype and device.
void scatter_advanced(const Tensor& base, const std::vector<Tensor>& advanced, const Tensor& values_in,
                      ScatterMode mode, const char* op) {
  const AdvancedPlan p = plan_advanced(base, advanced, op);
  const Tensor values = values_in.storage() == base.storage() ? values_in.clone() : values_in;
  const std::optional<Shape> value_strides = broadcast_strides(values, p.result_shape);
  if (!value_strides)
    throw ShapeError(std::string(op) + ": shape mismatch: value tensor of shape " + shape_str(values.shape()) +
                     " cannot be broadcast to indexing result of shape " + shape_str(p.result_shape));
  scatter_into(base, p.offsets, values, make_index_iter(p.result_shape, p.data_strides, p.offset_strides, *value_strides, op),
               mode, op);
}

// The gradient of base[advanced]: scattered (added, so repeated positions accumulate) into zeros.
struct IndexBackward : Node {
  Shape input_shape;
  std::vector<Tensor> advanced;
  std::vector<Tensor> apply(const Tensor& g) override {
    Tensor gx = Tensor::zeros(input_shape, g.dtype(), g.device());
    scatter_advanced(gx, advanced, g, ScatterMode::Add, "IndexBackward");
    return {gx};
  }
  std::string name() const override { return "IndexBackward"; }
};

// values reduced from the region's shape back to their own (broadcast dims summed, leading 1s restored).
Tensor reduce_to_values(const Tensor& region, const Shape& values_shape) {
  Shape stripped = values_shape;
  while (stripped.size() > region.shape().size() && stripped.front() == 1) stripped.erase(stripped.begin());
  return reshape(sum_to_shape(region, stripped), values_shape);
}

// x[key] = values (or +=): x's gradient is g with the written region zeroed (all of g when
// accumulating), the values' gradient the region of g, summed over the dims they were broadcast along.
struct IndexPutBackward : Node {
  std::vector<IndexItem> basic;
  std::vector<Tensor> advanced;
  bool accumulate = false;
  Shape values_shape;
  std::vector<Tensor> apply(const Tensor& g) override {
    std::vector<Tensor> grads(2);
    const bool has_advanced = any_defined(advanced);
    if (next_edges[0].fn) {
      if (accumulate) {
        grads[0] = g;
      } else {
        Tensor gx = g.clone();
        Tensor region = apply_basic(gx, basic);
        if (has_advanced) scatter_advanced(region, advanced, Tensor::zeros({}, g.dtype(), g.device()), ScatterMode::Assign, "IndexPutBackward");
        else region.zero_();
        grads[0] = gx;
      }
    }
    if (next_edges[1].fn) {
      Tensor region = apply_basic(g, basic);
      if (has_advanced) region = gather_advanced(region, advanced, "IndexPutBackward");
      grads[1] = reduce_to_values(region, values_shape);
    }
    return grads;
  }
  std::string name() const override { return "IndexPutBackward"; }
};

// x[mask] with a mask of x's full shape over a contiguous x (x[x > 0], x[mask] = 0): the same
// as indexing the flattened x with the flattened mask, whose nonzero() is one column of element
// offsets rather than x.dim() coordinate columns to combine.
bool is_full_mask_key(const Tensor& x, const std::vector<IndexItem>& key) {
  if (key.size() != 1 || key[0].kind != IndexItem::Kind::Tensor || x.dim() < 2 || !x.is_contiguous()) return false;
  const Tensor& mask = key[0].tensor;
  return mask.defined() && is_mask_dtype(mask.dtype()) && mask.shape() == x.shape();
}

// A key of one bool mask over x's leading dims (x[mask] with mask.shape == x.shape[:k]).
bool is_leading_bool_mask_key(const Tensor& x, const std::vector<IndexItem>& key) {
  if (key.size() != 1 || key[0].kind != IndexItem::Kind::Tensor) return false;
  const Tensor& mask = key[0].tensor;
  if (!mask.defined() || mask.dtype() != DType::Bool || mask.dim() == 0 || mask.dim() > x.dim()) return false;
  return std::equal(mask.shape().begin(), mask.shape().end(), x.shape().begin());
}

std::vector<IndexItem> flat_mask_key(const std::vector<IndexItem>& key) {
  return {IndexItem::index(reshape(key[0].tensor, {-1}))};
}

// x[key] (=, +=) values into `x` in place or into a copy of it. cast: values of another dtype are
// converted (x[key] = v); otherwise they must match (torch's index_put_).
Tensor put(const Tensor& x, const std::vector<IndexItem>& key, const Tensor& values_in, bool accumulate, bool cast,
           bool in_place, const char* op) {
  check_defined(x, op, "input");
  check_defined(values_in, op, "values");
  const bool records = GradMode::is_enabled() && (x.requires_grad() || values_in.requires_grad());
  if (in_place && !accumulate && cast && values_in.numel() == 1 && is_leading_bool_mask_key(x, key)) {
    // x[mask] = number: torch's masked_fill_, one pass over x and no nonzero().
    Shape shape = key[0].tensor.shape();
    shape.resize(x.dim(), 1);
    masked_fill_(x, reshape(key[0].tensor, shape), reshape(values_in, {}));
    return x;
  }
  if (in_place && !records && is_full_mask_key(x, key)) {  // (with autograd the flat view would take x's history)
    put(reshape(x, {-1}), flat_mask_key(key), values_in, accumulate, cast, true, op);
    return x;
  }
  Resolved r;
  {
    NoGradGuard no_grad;  // the write needs the positions; the view is rebuilt on the written tensor
    r = resolve(x, key, op);
  }
  Tensor values = values_in;
  if (values.device() != x.device()) {
    if (!cast && values.dim() != 0)
      throw std::runtime_error(std::string(op) + ": expected values on " + x.device().str() + " like the indexed tensor " +
                               x.describe() + ", got " + values.describe());
    if (GradMode::is_enabled() && values.requires_grad())
      throw std::runtime_error(std::string(op) + ": values " + values.describe() + " require grad and are not on " +
                               x.device().str() + ", the device of " + x.describe());
    values = values.to(x.device());
  }
  if (values.dtype() != x.dtype()) {
    if (!cast)
      throw std::runtime_error(std::string(op) + ": Index put requires the source and destination dtypes match, got " +
                               dtype_name(x.dtype()) + " for the destination and " + dtype_name(values.dtype()) +
                               " for the source");
    values = to_dtype(values, x.dtype());
  }
  const bool has_advanced = any_defined(r.advanced);
  auto write = [&](const Tensor& target) {
    const Tensor view = in_place ? r.view : apply_basic(target, r.basic);
    if (has_advanced) {
      scatter_advanced(view, r.advanced, values, accumulate ? ScatterMode::Add : ScatterMode::Assign, op);
      return;
    }
    // Only basic items: a strided copy (or add) into the view; leading size-1 dims of values dropped.
    int64_t skip = 0;
    while (values.dim() - skip > view.dim() && values.shape()[skip] == 1) ++skip;
    const Tensor v = values.as_strided(Shape(values.shape().begin() + skip, values.shape().end()),
                                       Shape(values.strides().begin() + skip, values.strides().end()),
                                       values.storage_offset());
    Tensor destination = view;
    destination.copy_(accumulate ? add(view, v) : v);
  };
  auto make_node = [&] {
    auto node = std::make_shared<IndexPutBackward>();
    node->basic = r.basic;
    node->advanced = r.advanced;
    node->accumulate = accumulate;
    node->values_shape = values.shape();
    return node;
  };
  return write_recorded(x, in_place, op, {&values}, write, make_node);
}

std::vector<IndexItem> key_of(const std::vector<Tensor>& indices) {
  std::vector<IndexItem> key;
  for (const Tensor& t : indices) key.push_back(IndexItem::index(t));
  return key;
}

// mask as the key of the x-shaped tensor it addresses: bool only (torch's rule for the mask ops),
// on x's device or the CPU, broadcast to `shape`.
Tensor mask_for(const Tensor& mask, const Tensor& x, const Shape& shape, const char* op) {
  check_defined(mask, op, "mask");
  if (mask.dtype() != DType::Bool)
    throw std::runtime_error(std::string(op) + " only supports boolean masks, but got mask " + mask.describe());
  check_index_device(mask, x, op, "the mask");
  if (mask.shape() == shape) return mask;
  if (!broadcast_strides(mask, shape))
    throw ShapeError(std::string(op) + ": the mask " + shape_str(mask.shape()) + " does not broadcast to shape " +
                     shape_str(shape));
  return expand(mask, shape);
}

}  // namespace

Tensor index(const Tensor& x, const std::vector<IndexItem>& key) {
  profiler::OpScope profile_scope("index", x);
  const char* op = "__getitem__";
  check_defined(x, op, "input");
  if (is_full_mask_key(x, key)) return index(reshape(x, {-1}), flat_mask_key(key));
  Resolved r = resolve(x, key, op);
  if (!any_defined(r.advanced)) return r.view;
  Tensor out = gather_advanced(r.view, r.advanced, op);
  if (autograd::any_requires_grad({&r.view})) {
    auto node = std::make_shared<IndexBackward>();
    node->input_shape = r.view.shape();
    node->advanced = r.advanced;
    autograd::record(node, {&r.view}, out);
  }
  return out;
}

Tensor index(const Tensor& x, int64_t dim, const Tensor& index_tensor) {
  profiler::OpScope profile_scope("index", x, index_tensor);
  check_defined(x, "index", "input");
  if (x.dim() == 0) throw IndexError("index: cannot index a 0-D tensor with a tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "index");
  std::vector<IndexItem> key(d, IndexItem::slice(0, kToTheEnd, 1));
  key.push_back(IndexItem::index(index_tensor));
  return index(x, key);
}

void index_put_(const Tensor& x, const std::vector<IndexItem>& key, const Tensor& values, bool accumulate) {
  profiler::OpScope profile_scope("index_put_", x, values);
  put(x, key, values, accumulate, /*cast=*/true, /*in_place=*/true, "__setitem__");
}

Tensor index_put_(const Tensor& x, const std::vector<Tensor>& indices, const Tensor& values, bool accumulate) {
  profiler::OpScope profile_scope("index_put_", x, indices, values);
  return put(x, key_of(indices), values, accumulate, /*cast=*/false, /*in_place=*/true, "index_put_");
}

Tensor index_put(const Tensor& x, const std::vector<Tensor>& indices, const Tensor& values, bool accumulate) {
  profiler::OpScope profile_scope("index_put", x, indices, values);
  return put(x, key_of(indices), values, accumulate, /*cast=*/false, /*in_place=*/false, "index_put");
}

// ---- masks ----

namespace {
// value as an operand of where() that keeps x's dtype: a Python number of x's kind, or a 0-d tensor
// of x's dtype on x's device.
Tensor fill_value(const Tensor& value, const Tensor& x, const char* op) {
  check_defined(value, op, "value");
  if (!value.is_wrapped_number()) return value_as_tensor(value, x, op);
  const Scalar v = value.item();
  if (is_floating(x.dtype())) return Tensor::wrapped_number(Scalar(v.to_double()));
  if (x.dtype() == DType::Bool) return Tensor::wrapped_number(Scalar(v.to_double() != 0));
  return Tensor::wrapped_number(Scalar(v.to_int64()));
}
}  // namespace

Tensor masked_fill(const Tensor& x, const Tensor& mask_in, const Tensor& value) {
  profiler::OpScope profile_scope("masked_fill", x, mask_in, value);
  const char* op = "masked_fill";
  check_defined(x, op, "input");
  check_defined(mask_in, op, "mask");
  const std::optional<Shape> shape = broadcast_shapes(x.shape(), mask_in.shape());
  if (!shape)
    throw ShapeError(std::string(op) + ": the mask " + shape_str(mask_in.shape()) + " and the input " +
                     shape_str(x.shape()) + " cannot be broadcast together");
  const Tensor mask = mask_for(mask_in, x, mask_in.shape(), op).to(x.device());
  return where(mask, fill_value(value, x, op), x);
}

Tensor masked_fill_(const Tensor& x, const Tensor& mask_in, const Tensor& value) {
  profiler::OpScope profile_scope("masked_fill_", x, mask_in, value);
  const char* op = "masked_fill_";
  check_defined(x, op, "input");
  const Tensor mask = mask_for(mask_in, x, mask_in.shape(), op);
  const std::optional<Shape> shape = broadcast_shapes(x.shape(), mask.shape());
  if (!shape || *shape != x.shape())
    throw ShapeError(std::string(op) + ": output with shape " + shape_str(x.shape()) +
                     " doesn't match the broadcast shape " + (shape ? shape_str(*shape) : shape_str(mask.shape())));
  const Tensor filler = fill_value(value, x, op);
  if (GradMode::is_enabled() && (x.requires_grad() || filler.requires_grad())) check_inplace_leaf(x, op);
  return pointwise::compute_into(x, PointwiseOp::Where, {mask.to(x.device()), filler, x}, PointwiseArgs{});
}

Tensor masked_select(const Tensor& x, const Tensor& mask_in) {
  profiler::OpScope profile_scope("masked_select", x, mask_in);
  const char* op = "masked_select";
  check_defined(x, op, "input");
  check_defined(mask_in, op, "mask");
  if (mask_in.dtype() != DType::Bool) throw std::runtime_error(std::string(op) + ": expected BoolTensor for mask, got " + mask_in.describe());
  const std::optional<Shape> shape = broadcast_shapes(x.shape(), mask_in.shape());
  if (!shape)
    throw ShapeError(std::string(op) + ": the mask " + shape_str(mask_in.shape()) + " and the input " +
                     shape_str(x.shape()) + " cannot be broadcast together");
  const Tensor mask = mask_for(mask_in, x, *shape, op);
  const Tensor expanded = x.shape() == *shape ? x : expand(x, *shape);
  if (shape->empty()) return index(reshape(expanded, {1}), {IndexItem::index(reshape(mask, {1}))});
  return index(expanded, {IndexItem::index(mask)});
}

namespace {
Tensor masked_scatter_impl(const Tensor& x, const Tensor& mask_in, const Tensor& source, bool in_place, const char* op) {
  check_defined(x, op, "input");
  check_defined(source, op, "source");
  const Tensor mask = mask_for(mask_in, x, x.shape(), op);
  if (source.dtype() != x.dtype())
    throw std::runtime_error(std::string(op) + ": expected self and source to have same dtypes but got " +
                             dtype_name(x.dtype()) + " and " + dtype_name(source.dtype()));
  if (source.device() != x.device())
    throw std::runtime_error(std::string(op) + ": expected source on " + x.device().str() + ", got " + source.describe());
  const std::vector<IndexItem> key = x.dim() == 0 ? std::vector<IndexItem>{IndexItem::boolean(mask.item().to_int64() != 0)}
                                                  : std::vector<IndexItem>{IndexItem::index(mask)};
  int64_t count;
  {
    NoGradGuard no_grad;
    count = x.dim() == 0 ? (mask.item().to_int64() != 0 ? 1 : 0) : sum(mask).item().to_int64();
  }
  if (source.numel() < count)
    throw std::runtime_error(std::string(op) + ": Number of elements of source < number of ones in mask (" +
                             std::to_string(source.numel()) + " < " + std::to_string(count) + ")");
  const Tensor values = narrow(reshape(source, {-1}), 0, 0, count);
  return put(x, key, values, /*accumulate=*/false, /*cast=*/false, in_place, op);
}
}  // namespace

Tensor masked_scatter(const Tensor& x, const Tensor& mask, const Tensor& source) {
  profiler::OpScope profile_scope("masked_scatter", x, mask, source);
  return masked_scatter_impl(x, mask, source, false, "masked_scatter");
}

Tensor masked_scatter_(const Tensor& x, const Tensor& mask, const Tensor& source) {
  profiler::OpScope profile_scope("masked_scatter_", x, mask, source);
  return masked_scatter_impl(x, mask, source, true, "masked_scatter_");
}

Tensor nonzero(const Tensor& x) {
  profiler::OpScope profile_scope("nonzero", x);
  check_defined(x, "nonzero", "input");
  if (x.dim() > kMaxDims)
    throw ValueError("nonzero: at most " + std::to_string(kMaxDims) + " dimensions are supported, got " + x.describe());
  NoGradGuard no_grad;
  const Tensor input = x.contiguous();
  NonzeroShape s;
  s.ndim = static_cast<int>(x.dim());
  for (int d = 0; d < s.ndim; ++d) s.sizes[d] = x.shape()[d];
  // The count sizes the output: on CUDA reading it back is a synchronisation, as in torch.
  Tensor counted = Tensor::empty({}, DType::Int64, x.device());
  DLCORE_DISPATCH(x.device(), nonzero_count, x.dtype(), input.raw_data(), counted.data<int64_t>(), s);
  const int64_t count = counted.item().to_int64();
  Tensor out = Tensor::empty({count, x.dim()}, DType::Int64, x.device());
  if (count > 0 && x.dim() > 0)
    DLCORE_DISPATCH(x.device(), nonzero, x.dtype(), input.raw_data(), out.data<int64_t>(), s);
  return out;
}

std::vector<Tensor> nonzero_tuple(const Tensor& x) {
  profiler::OpScope profile_scope("nonzero_tuple", x);
  check_defined(x, "nonzero", "input");
  const Tensor coords = nonzero(x.dim() == 0 ? reshape(x.detach(), {1}) : x);
  std::vector<Tensor> columns;
  for (int64_t j = 0; j < coords.size(1); ++j) columns.push_back(select(coords, 1, j));
  return columns;
}

}  // namespace dlcore::ops
